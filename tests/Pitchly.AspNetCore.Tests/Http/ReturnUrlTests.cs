namespace Pitchly.AspNetCore.Tests.Http;

public sealed class ReturnUrlTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/me")]
    [InlineData("/data?page=2")]
    [InlineData("/ok?x=//y")]
    [InlineData("/ok?next=http://elsewhere.example/#//z")]
    [InlineData("/a//b")]
    [InlineData("/a%2F%2Fb")]
    [InlineData("/caf%C3%A9")]
    [InlineData("/100%")]
    [InlineData("/search?q=%0A")]
    public void A_path_on_this_site_is_local(string url)
    {
        Assert.True(PitchlyReturnUrl.IsLocal(url));
        Assert.Equal(url, PitchlyReturnUrl.LocalOr(url, "/fallback"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("//evil.example")]
    [InlineData("//evil.example/x")]
    [InlineData("/\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData("\\/evil.example")]
    [InlineData("/\t/evil.example")]
    [InlineData("/\n/evil.example")]
    [InlineData("/\r\n/evil.example")]
    [InlineData("/%09/evil.example")]
    [InlineData("/%0a/evil.example")]
    [InlineData("/%0D%0A/evil.example")]
    [InlineData("/%2F/evil.example")]
    [InlineData("/%5C/evil.example")]
    [InlineData("/%5cevil.example")]
    [InlineData("/%2509/evil.example")]
    [InlineData("/%252F/evil.example")]
    [InlineData("/ok\\x")]
    [InlineData("/ok\u0000")]
    [InlineData("/ok\u007F")]
    [InlineData("/ok\u0085")]
    [InlineData("http://evil.example")]
    [InlineData("https://evil.example/me")]
    [InlineData("javascript:alert(1)")]
    [InlineData("evil.example")]
    [InlineData("~/me")]
    [InlineData(" /me")]
    [InlineData("\t//evil.example")]
    public void Anything_a_browser_could_read_as_another_host_is_not_local(string? url)
    {
        Assert.False(PitchlyReturnUrl.IsLocal(url));
        Assert.Equal("/fallback", PitchlyReturnUrl.LocalOr(url, "/fallback"));
    }

    [Fact]
    public void The_page_a_request_asked_for_is_its_return_url_only_when_local()
    {
        Assert.Equal("/data?page=2", PitchlyReturnUrl.ThisPageOrRoot(PathString.Empty, "/data", new QueryString("?page=2")));
        Assert.Equal("/app/data", PitchlyReturnUrl.ThisPageOrRoot("/app", "/data", QueryString.Empty));
        Assert.Equal("/", PitchlyReturnUrl.ThisPageOrRoot(PathString.Empty, "//evil.example/x", QueryString.Empty));
        Assert.Equal("/", PitchlyReturnUrl.ThisPageOrRoot(PathString.Empty, "/\\evil.example", QueryString.Empty));
        Assert.Equal("/", PitchlyReturnUrl.ThisPageOrRoot(PathString.Empty, "/\t/evil.example", QueryString.Empty));
    }
}

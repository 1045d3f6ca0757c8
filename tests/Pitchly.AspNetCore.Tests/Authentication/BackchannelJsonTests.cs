using Pitchly.AspNetCore.Internal.Authentication;
using Pitchly.AspNetCore.Tests.Internal;

namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class BackchannelJsonTests
{
    [Fact]
    public async Task A_declared_length_over_the_limit_is_refused_before_the_body_is_read()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new UnreadableContent(2048) };

        var exception = await Assert.ThrowsAsync<AuthenticationFailureException>(() =>
            BackchannelJson.ReadObjectAsync(response, "Pitchly's token endpoint", 1024, TestContext.Current.CancellationToken));

        Assert.Equal("Pitchly's token endpoint answered with 2048 bytes (status 200), more than the 1024 accepted.", exception.Message);
    }

    [Fact]
    public async Task A_JSON_object_within_the_limit_is_returned()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"access_token":"x"}""", Encoding.UTF8, "application/json") };

        using var document = await BackchannelJson.ReadObjectAsync(response, "Pitchly's token endpoint", 1024, TestContext.Current.CancellationToken);

        Assert.Equal("x", document.RootElement.GetProperty("access_token").GetString());
    }
}

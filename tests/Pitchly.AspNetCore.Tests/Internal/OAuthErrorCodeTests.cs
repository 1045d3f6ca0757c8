namespace Pitchly.AspNetCore.Tests.Internal;

public sealed class OAuthErrorCodeTests
{
    [Theory]
    [InlineData("""{"error":"invalid_grant"}""", "invalid_grant", "invalid_grant")]
    [InlineData("""{"error":"account_locked"}""", "account_locked", "other")]
    [InlineData("""{"error":"line\nbreak"}""", "unrecognized", "other")]
    [InlineData("""{"error":"quote\"d"}""", "unrecognized", "other")]
    [InlineData("""{"error":42}""", "unrecognized", "other")]
    [InlineData("""{"error":""}""", "unrecognized", "other")]
    public void Only_well_formed_codes_are_repeated_and_only_standard_ones_become_metric_tags(string json, string expectedCode, string expectedTag)
    {
        using var document = JsonDocument.Parse(json);

        var code = OAuthErrorCode.Read(document.RootElement.GetProperty("error"));

        Assert.Equal(expectedCode, code);
        Assert.Equal(expectedTag, OAuthErrorCode.ForMetric(code));
    }

    [Fact]
    public void An_overlong_code_is_not_repeated()
    {
        using var document = JsonDocument.Parse($$"""{"error":"{{new string('x', 65)}}"}""");

        Assert.Equal(OAuthErrorCode.Unrecognized, OAuthErrorCode.Read(document.RootElement.GetProperty("error")));
    }
}

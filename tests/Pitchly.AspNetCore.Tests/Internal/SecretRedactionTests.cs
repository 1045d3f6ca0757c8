namespace Pitchly.AspNetCore.Tests.Internal;

public sealed class SecretRedactionTests
{
    private const string Token = "plyu_Q2hlY2tzIGFuZCBiYWxhbmNlcyBmb3IgdG9rZW5zMDEyMzQ1";
    private const string LegacyToken = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9f";
    private const string Jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhcHAxIn0.c2lnbmF0dXJlLW9mLXRoZS1qd3Q";

    [Theory]
    [InlineData("Token " + Token + " is invalid", "Token [redacted] is invalid")]
    [InlineData("Token " + LegacyToken + " is invalid", "Token [redacted] is invalid")]
    [InlineData("bad signature on " + Jwt, "bad signature on [redacted]")]
    [InlineData("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]")]
    [InlineData("sent Basic dXNlcjpwYXNz", "sent Basic [redacted]")]
    [InlineData("Variable \"$accessToken\" got invalid value \"short-one\"; String expected", "Variable \"$accessToken\" got invalid value \"[redacted]\"; String expected")]
    [InlineData("Variable '$secretKey' is invalid. Unable to convert 'abc' to 'Int'", "Variable '$secretKey' is invalid. Unable to convert '[redacted]' to 'Int'")]
    [InlineData("got { accessToken: \"tok1\", first: 10 }", "got { accessToken: \"[redacted]\", first: 10 }")]
    [InlineData("{\"secretKey\":\"abc\",\"id\":\"row1\"}", "{\"secretKey\":\"[redacted]\",\"id\":\"row1\"}")]
    [InlineData("refresh_token=r1&client_id=app1", "refresh_token=[redacted]&client_id=app1")]
    [InlineData("password = 'p w'", "password = '[redacted]'")]
    [InlineData("apiKey:k1", "apiKey:[redacted]")]
    public void Secrets_and_what_looks_like_one_are_redacted(string text, string expected)
    {
        Assert.Equal(expected, SecretRedaction.Redact(text));
    }

    [Theory]
    [InlineData("Cannot query field \"noSuchField\" on type \"Organization\".")]
    [InlineData("Table tbl0123456789abcdefgh not found at workspace.tables.0.fields")]
    [InlineData("Row fjzw5XGzqcXTH7PX7 was deleted")]
    [InlineData("You must be signed in")]
    [InlineData("Variable '$accessToken' is never used in operation 'Rows'.")]
    [InlineData("Token [access token] is invalid")]
    [InlineData("https://api.pitchly.com/graphql answered 502")]
    public void Ordinary_messages_ids_and_paths_stay_readable(string text)
    {
        Assert.Equal(text, SecretRedaction.Redact(text));
    }

    [Fact]
    public void The_request_s_own_secrets_are_redacted_wherever_they_appear_even_when_they_do_not_look_like_one()
    {
        var body = """{"query":"q","variables":{"password":"correct horse battery","nested":{"clientSecret":["s3cr3t value"]},"name":"visible name","pin":"1234"}}"""u8;
        var known = KnownSecrets.From(body, "a bearer credential");

        var text = SecretRedaction.Redact("login of visible name with correct horse battery, s3cr3t value and a bearer credential (pin 1234)", known);

        Assert.Equal("login of visible name with [redacted], [redacted] and [redacted] (pin 1234)", text);
    }

    [Fact]
    public void A_request_body_that_is_not_JSON_leaves_the_credentials_and_the_patterns()
    {
        var known = KnownSecrets.From("not json"u8, "credential-value");

        Assert.Equal(["credential-value"], known.Values);
        Assert.Equal("echo [redacted] and accessToken: [redacted]", SecretRedaction.Redact("echo credential-value and accessToken: x", known));
    }
}

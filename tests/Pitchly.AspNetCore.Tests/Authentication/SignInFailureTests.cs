using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class SignInFailureTests
{
    private const string Code = "code-that-must-never-leak";

    public static TheoryData<int, string, string, string> TokenEndpointAnswers => new()
    {
        { 502, "text/html", "<html><body>Bad Gateway</body></html>", "Pitchly's token endpoint answered with HTML (status 502) instead of JSON" },
        { 200, "text/plain", "<!DOCTYPE html><html></html>", "Pitchly's token endpoint answered with HTML (status 200) instead of JSON" },
        { 200, "application/json", "{\"access_token\":", "Pitchly's token endpoint answered with content that is not valid JSON (status 200, content type application/json)" },
        { 200, "application/json", "", "Pitchly's token endpoint answered with an empty body (status 200)" },
        { 200, "application/json", "[\"access_token\"]", "Pitchly's token endpoint answered with a JSON Array instead of a JSON object (status 200)" },
        { 200, "application/json", "{\"token_type\":\"Bearer\",\"expires_in\":3600}", "Pitchly's token endpoint answered without an access_token (status 200)" },
        { 200, "application/json", "{\"access_token\":\"\"}", "Pitchly's token endpoint answered without an access_token (status 200)" },
        { 400, "application/json", "{\"error\":\"invalid_grant\",\"error_description\":\"code expired\"}", "refused the authorization code with error 'invalid_grant' (status 400). The code is invalid, expired or already used: sign in again." },
        { 200, "application/json", "{\"error\":\"invalid_grant\"}", "refused the authorization code with error 'invalid_grant' (status 200)" },
        { 401, "application/json", "{\"error\":\"invalid_client\"}", "check Pitchly:ClientId (the App ID) and Pitchly:ClientSecret (the App Secret)" },
        { 500, "application/json", "{\"message\":\"internal\"}", "Pitchly's token endpoint answered status 500 with JSON that carries no OAuth error" },
        { 200, "application/json", $"{{\"access_token\":\"{FakePitchly.AccessToken}\",\"expires_in\":\"soon\"}}", "answered with an expires_in that is not a positive number of seconds" },
    };

    public static TheoryData<string, string, string> IdentityAnswers => new()
    {
        {
            "application/json",
            $"{{\"data\":null,\"errors\":[{{\"message\":\"Token {FakePitchly.AccessToken} is invalid\",\"extensions\":{{\"code\":\"UNAUTHENTICATED\"}}}}]}}",
            "Pitchly's GraphQL endpoint answered the identity query with errors (status 200): UNAUTHENTICATED: Token [access token] is invalid"
        },
        {
            "application/json",
            "{\"errors\":[{\"message\":\"not allowed\",\"data\":{\"error\":\"not-authorized\"}}],\"data\":{\"organization\":null}}",
            "answered the identity query with errors (status 200): not-authorized: not allowed"
        },
        { "application/json", "{\"data\":null}", "Pitchly's GraphQL endpoint answered the identity query without data" },
        { "application/json", "{}", "Pitchly's GraphQL endpoint answered the identity query without data" },
        { "application/json", "{\"data\":{\"organization\":{\"id\":\"org1\"},\"viewer\":{\"person\":null}}}", "answered the identity query without viewer.person.id" },
        { "application/json", "{\"data\":{\"organization\":null,\"viewer\":{\"person\":{\"id\":\"psn1\"}}}}", "answered the identity query without organization.id" },
        { "application/json", "{\"data\":{\"organization\":{\"id\":42},\"viewer\":{\"person\":{\"id\":\"psn1\"}}}}", "answered the identity query without organization.id" },
        { "text/html", "<html>Service Unavailable</html>", "Pitchly's GraphQL endpoint answered with HTML (status 200) instead of JSON" },
    };

    [Theory]
    [MemberData(nameof(TokenEndpointAnswers))]
    public async Task A_bad_token_endpoint_answer_fails_the_sign_in_with_a_message_that_names_the_problem_and_no_secret(
        int status, string contentType, string body, string expectedMessage)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.TokenEndpoint = FakePitchly.Respond(status, contentType, body);
        await using var app = await SignInApp.StartAsync(pitchly);

        using var callback = await app.SignInAsync(Code);

        var message = await AssertFailedAsync(app, callback, expectedMessage);
        var verifier = Assert.Single(pitchly.TokenRequests)["code_verifier"];
        Assert.DoesNotContain(verifier, message, StringComparison.Ordinal);
        Assert.Empty(pitchly.GraphQLRequests);
    }

    [Theory]
    [MemberData(nameof(IdentityAnswers))]
    public async Task A_bad_identity_answer_fails_the_sign_in_with_a_message_that_names_the_problem_and_no_token(
        string contentType, string body, string expectedMessage)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.GraphQLEndpoint = FakePitchly.Respond(StatusCodes.Status200OK, contentType, body);
        await using var app = await SignInApp.StartAsync(pitchly);

        using var callback = await app.SignInAsync(Code);

        await AssertFailedAsync(app, callback, expectedMessage);
    }

    [Fact]
    public async Task An_identity_error_echoing_the_token_where_the_message_is_shortened_keeps_no_part_of_it()
    {
        // The token starts ten characters before the 200th, where the message is cut: cutting first kept "plyu_acces".
        var filler = string.Concat(Enumerable.Repeat("The request could not be authenticated. ", 5))[..190];
        var echo = $"{filler}{FakePitchly.AccessToken} was refused and the rest of this long message is cut away";
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.GraphQLEndpoint = FakePitchly.Respond(
            StatusCodes.Status200OK,
            "application/json",
            JsonSerializer.Serialize(new { data = (object?)null, errors = new[] { new { message = echo, extensions = new { code = "FORBIDDEN" } } } }));
        await using var app = await SignInApp.StartAsync(pitchly);

        using var callback = await app.SignInAsync(Code);

        var message = await AssertFailedAsync(app, callback, "FORBIDDEN: " + filler + "[access to…");
        var tokenStart = FakePitchly.AccessToken[..10];
        Assert.DoesNotContain(tokenStart, message, StringComparison.Ordinal);
        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, log => log.Message.Contains(filler, StringComparison.Ordinal));
        foreach (var log in logs)
        {
            Assert.DoesNotContain(tokenStart, log.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(tokenStart, log.Exception?.ToString() ?? string.Empty, StringComparison.Ordinal);
            Assert.DoesNotContain(tokenStart, string.Join(' ', log.StructuredState ?? []), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_oversized_token_response_is_refused()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.TokenEndpoint = FakePitchly.Respond(200, "application/json", $"{{\"access_token\":\"{new string('a', 100_000)}\"}}");
        await using var app = await SignInApp.StartAsync(pitchly);

        using var callback = await app.SignInAsync(Code);

        await AssertFailedAsync(app, callback, "Pitchly's token endpoint answered with more than the 65536 bytes accepted (status 200)");
    }

    private static async Task<string> AssertFailedAsync(SignInApp app, HttpResponseMessage callback, string expectedMessage)
    {
        var message = await callback.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.StartsWith(SignInApp.FailurePrefix, message, StringComparison.Ordinal);
        Assert.Contains(expectedMessage, message, StringComparison.Ordinal);
        Assert.DoesNotContain(FakePitchly.ClientSecret, message, StringComparison.Ordinal);
        Assert.DoesNotContain(FakePitchly.AccessToken, message, StringComparison.Ordinal);
        Assert.DoesNotContain(Code, message, StringComparison.Ordinal);
        Assert.Null(app.AuthenticationCookie);
        Assert.Null(await app.Store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), TestContext.Current.CancellationToken));
        return message;
    }
}

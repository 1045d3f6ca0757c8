using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class SignInLoggingTests
{
    private const string Code = "code-that-must-never-leak";

    [Fact]
    public async Task Sign_in_logs_its_outcome_under_stable_event_ids_without_any_secret()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        using (await app.SignInAsync(Code))
        {
        }

        pitchly.GraphQLEndpoint = FakePitchly.Respond(200, "application/json", $"{{\"data\":null,\"errors\":[{{\"message\":\"bad token {FakePitchly.AccessToken}\"}}]}}");
        using (await app.SignInAsync(Code))
        {
        }

        pitchly.TokenEndpoint = FakePitchly.Respond(400, "application/json", "{\"error\":\"invalid_grant\"}");
        using (await app.SignInAsync(Code))
        {
        }

        using (await app.Client.GetAsync("/signout", TestContext.Current.CancellationToken))
        {
        }

        var records = app.Logs.GetSnapshot();
        var handlerEvents = records
            .Where(record => record.Category?.StartsWith("Pitchly.AspNetCore", StringComparison.Ordinal) == true)
            .Select(record => record.Id.Id)
            .ToList();
        // The handler's category also carries the base OAuthHandler's own events (ids below 100).
        Assert.Equal([1000, 1007, 1002, 1001, 1004], handlerEvents.Where(id => id >= 100));

        // The host logs request URLs (and so the code) by design; the authentication components must not.
        var authenticationRecords = records.Where(record =>
            record.Category?.StartsWith("Pitchly.AspNetCore", StringComparison.Ordinal) == true
            || record.Category?.StartsWith("Microsoft.AspNetCore.Authentication", StringComparison.Ordinal) == true
            || record.Category == typeof(CookieAuthenticationHandler).FullName);
        Assert.All(authenticationRecords, record =>
        {
            var text = $"{record.Message} {record.Exception}";
            Assert.DoesNotContain(FakePitchly.AccessToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain(FakePitchly.RefreshToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain(FakePitchly.ClientSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Code, text, StringComparison.Ordinal);
        });
    }
}

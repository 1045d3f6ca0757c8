using Microsoft.Extensions.Logging.Testing;
using Pitchly.AspNetCore.Tests.Subscriptions;
using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.GraphQL;

/// <summary>
/// Pitchly (or anything in its place) answering with errors that echo the request: the token, and variables named like
/// secrets, must reach neither the errors, nor an exception's message or <c>ToString()</c>, nor a log.
/// </summary>
public sealed class SecretEchoTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    // Not token-shaped and shorter than a token: only knowing the request finds them.
    private const string Password = "correct horse battery staple";
    private const string SecretKey = "sk 0042 of alice";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static readonly PitchlyGraphQLRequest Query = new(
        "query Rows($password: String, $secretKey: String) { rows(password: $password, secretKey: $secretKey) { id } }",
        new Dictionary<string, object?> { ["password"] = Password, ["secretKey"] = SecretKey, ["first"] = 10 });

    [Fact]
    public async Task GraphQL_errors_echoing_the_token_and_secret_variables_are_redacted_in_errors_exceptions_and_logs()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace).AddFilter("System.Net.Http.HttpClient", LogLevel.Information));
            s.AddPitchlyGraphQLClient(http => http.AddPitchlyAccessToken(_ => Alice, o => o.Placement = PitchlyTokenPlacement.Both));
            s.Configure<PitchlyGraphQLClientOptions>(o => o.Endpoint = pitchly.GraphQLEndpoint);
        });
        var record = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.GraphQLOverride = async (context, _) =>
        {
            // An echo as servers write them: graphql-js's invalid-variable wording, the header, and the values in free text.
            var sent = pitchly.Seen.Last();
            using var body = JsonDocument.Parse(sent.Body);
            var variables = body.RootElement.GetProperty("variables");
            var token = variables.GetProperty("accessToken").GetString();
            var echoes = new[]
            {
                $"Variable \"$accessToken\" got invalid value \"{token}\"; Expected type \"Int\".",
                $"Request with {context.Request.Headers.Authorization} refused for {variables.GetProperty("password").GetString()} and {variables.GetProperty("secretKey").GetString()}",
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                data = (object?)null,
                errors = echoes.Select(message => new { message, extensions = new { code = "BAD_USER_INPUT" } }),
            }));
        };

        var response = await services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(Query, Cancellation);
        var thrown = Assert.Throws<PitchlyGraphQLException>(() => response.EnsureNoErrors());

        Assert.Equal(2, response.Errors.Count);
        Assert.Equal("Variable \"$accessToken\" got invalid value \"[redacted]\"; Expected type \"Int\".", response.Errors[0].Message);
        Assert.Equal("Request with Bearer [redacted] refused for [redacted] and [redacted]", response.Errors[1].Message);
        Assert.Contains("[redacted]", thrown.Message, StringComparison.Ordinal);
        var logs = services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        AssertNoSecret([record.AccessToken, Password, SecretKey], [thrown.Message, thrown.ToString(), .. response.Errors.Select(e => e.ToString()), .. Texts(logs)]);
    }

    [Fact]
    public async Task A_proxy_page_echoing_secret_variables_leaves_them_out_of_the_excerpt()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddPitchlyGraphQLClient(http => http.AddPitchlyAccessToken(_ => Alice));
            s.Configure<PitchlyGraphQLClientOptions>(o => o.Endpoint = pitchly.GraphQLEndpoint);
        });
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.GraphQLOverride = async (context, _) =>
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync($"<html><body>Bad Gateway: {Password} / {SecretKey}</body></html>");
        };

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(Query, Cancellation));

        Assert.Contains("Bad Gateway: [redacted] / [redacted]", thrown.Message, StringComparison.Ordinal);
        AssertNoSecret([Password, SecretKey], [thrown.Message, thrown.ToString()]);
    }

    [Fact]
    public async Task Subscription_event_errors_echoing_the_token_and_secret_variables_are_redacted()
    {
        await using var app = await SubscriptionApp.StartAsync();
        var record = await app.SignInAsync(SubscriptionApp.Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(SubscriptionApp.Ada, Subscription, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.PublishAsync(
            new JsonObject { ["dataRowsChanged"] = new JsonObject { ["id"] = "row1", ["sequence"] = 1 } },
            [new JsonObject { ["message"] = Echo(record.AccessToken), ["extensions"] = new JsonObject { ["code"] = "PARTIAL" } }]);
        Assert.True(await next.WaitAsync(Patience, Cancellation));

        var error = Assert.Single(events.Current.Errors);
        var thrown = Assert.Throws<PitchlyGraphQLException>(() => events.Current.EnsureNoErrors());
        Assert.Equal(RedactedEcho, error.Message);
        AssertNoSecret([record.AccessToken, Password, SecretKey], [error.ToString(), thrown.Message, thrown.ToString(), .. Texts(app.Logs.GetSnapshot())]);
    }

    [Fact]
    public async Task A_subscription_error_message_echoing_the_token_and_secret_variables_ends_it_with_a_redacted_exception()
    {
        await using var app = await SubscriptionApp.StartAsync();
        var record = await app.SignInAsync(SubscriptionApp.Ada);
        app.Pitchly.OperationErrors = [new JsonObject { ["message"] = Echo(record.AccessToken), ["extensions"] = new JsonObject { ["code"] = "FORBIDDEN" } }];

        var thrown = await Assert.ThrowsAnyAsync<PitchlyGraphQLException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(SubscriptionApp.Ada, Subscription, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.IsType<PitchlyNotAuthorizedException>(thrown);
        Assert.Equal(RedactedEcho, Assert.Single(thrown.Errors).Message);
        Assert.Contains(RedactedEcho, thrown.Message, StringComparison.Ordinal);
        AssertNoSecret([record.AccessToken, Password, SecretKey], [thrown.Message, thrown.ToString(), .. Texts(app.Logs.GetSnapshot())]);
    }

    private const string RedactedEcho = "Subscription for token [redacted] refused: password [redacted], key [redacted]";

    private static readonly PitchlyGraphQLRequest Subscription = new(
        "subscription Rows($db: ID!, $password: String, $secretKey: String) { dataRowsChanged(databaseId: $db) { id sequence } }",
        new Dictionary<string, object?> { ["db"] = "db1", ["password"] = Password, ["secretKey"] = SecretKey });

    private static string Echo(string accessToken) => $"Subscription for token {accessToken} refused: password {Password}, key {SecretKey}";

    private static IEnumerable<string> Texts(IEnumerable<FakeLogRecord> logs) =>
        logs.SelectMany(log => new[] { log.Message, log.Exception?.ToString() ?? string.Empty, string.Join(' ', log.StructuredState ?? []) });

    private static void AssertNoSecret(IEnumerable<string> secrets, IEnumerable<string> texts)
    {
        var all = texts.ToList();
        foreach (var secret in secrets)
        {
            foreach (var text in all)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }
}

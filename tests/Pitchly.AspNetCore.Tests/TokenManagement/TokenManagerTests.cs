using System.Net.Sockets;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

public sealed class TokenManagerTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    [Fact]
    public async Task Two_hundred_concurrent_calls_crossing_expiry_spend_exactly_one_refresh_token()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = new Uri(pitchly.BaseAddress, PitchlyEmulatorDefaults.GraphQLPath))
            .AddPitchlyAccessToken(_ => User));
        await TestServices.SignInAsync(services, pitchly, User, time);
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("pitchly");

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var calls = Enumerable.Range(0, 200).Select(async _ =>
        {
            using var response = await client.PostAsync("", JsonBody("""{"query":"{ viewer { person { id } } }"}"""), TestContext.Current.CancellationToken);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        });
        var results = await Task.WhenAll(calls);

        Assert.All(results, result =>
        {
            Assert.Equal(HttpStatusCode.OK, result.StatusCode);
            Assert.Contains(User.PersonId!, result.Body, StringComparison.Ordinal);
        });
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshTokenReuse);
        Assert.Equal(200, pitchly.Emulator.GetStats().GraphQLRequests);
    }

    [Fact]
    public async Task A_token_outside_its_renewal_window_is_used_without_a_grant_and_renewed_inside_it()
    {
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o => o.RefreshBeforeExpiry = TimeSpan.FromMinutes(5));
        var (pitchly, time, services, stored, manager) = app;

        time.Advance(TimeSpan.FromMinutes(54));
        var early = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshGrants);

        // Early in the window (4 of 5 minutes left) the call takes the current token while the renewal runs.
        time.Advance(TimeSpan.FromMinutes(2));
        var during = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(
            async () => (await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User))!.AccessToken != stored.AccessToken,
            TimeSpan.FromSeconds(10),
            "the renewal stores new tokens");
        var renewed = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        Assert.Equal(stored.AccessToken, early.Value);
        Assert.Equal(stored.AccessToken, during.Value);
        Assert.NotEqual(stored.AccessToken, renewed.Value);
        Assert.Equal(time.GetUtcNow().AddHours(1), renewed.ExpiresAt);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.DoesNotContain(renewed.Value, renewed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_late_in_its_renewal_window_is_renewed_before_the_call_goes_on()
    {
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o => o.RefreshBeforeExpiry = TimeSpan.FromMinutes(5));
        var (pitchly, time, _, stored, manager) = app;

        // Two of five minutes left: less than half the window, so the call waits for the new token.
        time.Advance(TimeSpan.FromMinutes(58));
        var renewed = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        Assert.NotEqual(stored.AccessToken, renewed.Value);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task A_caller_cancelled_mid_refresh_does_not_cancel_the_refresh()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, stored, manager) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        time.Advance(TimeSpan.FromHours(2));

        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var caller = new CancellationTokenSource();
        var waiting = manager.GetAccessTokenAsync(User, caller.Token).AsTask();
        await Eventually.HoldsAsync(() => pitchly.RefreshGrants == 1, TimeSpan.FromSeconds(15), "Pitchly performs the refresh grant");
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        pitchly.HoldTokenResponses.SetResult();
        await Eventually.HoldsAsync(async () => (await store.GetAsync(User))?.AccessToken != stored.AccessToken, TimeSpan.FromSeconds(15), "the detached refresh stores new tokens");
        var next = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        Assert.Equal((await store.GetAsync(User, TestContext.Current.CancellationToken))!.AccessToken, next.Value);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task A_token_endpoint_answering_after_the_refresh_timeout_still_has_its_tokens_stored_and_used()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User, options: o => o.RefreshTimeout = TimeSpan.FromSeconds(30));
        var (pitchly, time, services, stored, manager) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        time.Advance(TimeSpan.FromHours(2));

        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask();
        await Eventually.HoldsAsync(() => pitchly.RefreshGrants == 1, TimeSpan.FromSeconds(15), "Pitchly performs the refresh grant");
        time.Advance(TimeSpan.FromSeconds(31));
        pitchly.HoldTokenResponses.SetResult();
        pitchly.HoldTokenResponses = null;

        var token = await first;
        var next = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        var current = await store.GetAsync(User, TestContext.Current.CancellationToken);
        Assert.NotEqual(stored.AccessToken, current!.AccessToken);
        Assert.Equal(current.AccessToken, token.Value);
        Assert.Equal(current.AccessToken, next.Value);
        Assert.True(pitchly.IsRefreshTokenValid(current.RefreshToken!));
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task A_refresh_that_cannot_start_fails_its_callers_instead_of_hanging_the_key()
    {
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o => o.RefreshTimeout = TimeSpan.FromDays(60));
        var (pitchly, _, _, _, manager) = app;
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        patience.CancelAfter(TimeSpan.FromSeconds(10));

        var first = await Assert.ThrowsAsync<OptionsValidationException>(() => manager.RefreshAsync(User, "at_rejected", patience.Token));
        await Assert.ThrowsAsync<OptionsValidationException>(() => manager.RefreshAsync(User, "at_rejected", patience.Token));

        Assert.Contains(first.Failures, f => f.Contains("RefreshTimeout must be at most one day", StringComparison.Ordinal));
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task A_store_read_that_completed_at_once_is_consumed_only_once_on_the_way_to_a_refresh()
    {
        var store = new PooledReadStore();
        await using var app = await TestServices.SignInAtEmulatorAsync(User, s => s.AddSingleton<IPitchlyTokenStore>(store));
        var (pitchly, time, _, stored, manager) = app;
        time.Advance(TimeSpan.FromHours(2));

        var token = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        Assert.NotEqual(stored.AccessToken, token.Value);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task Invalid_grant_removes_the_record_and_requires_sign_in()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time);
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        await store.SetAsync(User, new PitchlyTokenRecord { AccessToken = "at_unknown", RefreshToken = "rt_revoked_by_pitchly", ExpiresAt = time.GetUtcNow().AddMinutes(-1) }, TestContext.Current.CancellationToken);
        var manager = services.GetRequiredService<IPitchlyTokenManager>();

        var exception = await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(User, exception.Key);
        Assert.Contains("sign in", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("rt_revoked_by_pitchly", exception.ToString(), StringComparison.Ordinal);
        Assert.IsType<PitchlyTokenEndpointException>(exception.InnerException);
        Assert.Null(await store.GetAsync(User, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_user_without_tokens_must_sign_in()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        await using var services = TestServices.Create(pitchly, new FakeTimeProvider(TestServices.Start));

        var exception = await Assert.ThrowsAsync<PitchlySignInRequiredException>(
            () => services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(User, exception.Key);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task An_install_without_tokens_gets_an_app_token_from_client_credentials_once()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        var time = new FakeTimeProvider(TestServices.Start);
        var refreshed = new RecordingRefreshedHandler();
        await using var services = TestServices.Create(pitchly, time, s => s.AddSingleton<IPitchlyTokenRefreshedHandler>(refreshed));
        var install = PitchlyTokenKey.ForInstall(PitchlyEmulatorDefaults.AcmeOrganizationId, "db_1");
        var manager = services.GetRequiredService<IPitchlyTokenManager>();

        var tokens = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => manager.GetAccessTokenAsync(install, TestContext.Current.CancellationToken).AsTask()));

        Assert.Single(tokens.Distinct());
        Assert.Equal(1, pitchly.Emulator.GetStats().ClientCredentialsGrants);
        var stored = await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(install, TestContext.Current.CancellationToken);
        Assert.Equal(tokens[0].Value, stored!.AccessToken);
        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationId, stored.OrganizationId);
        await Eventually.HoldsAsync(() => !refreshed.Contexts.IsEmpty, TimeSpan.FromSeconds(10), "the refreshed handler runs");
        var notified = Assert.Single(refreshed.Contexts);
        Assert.Equal(install, notified.Key);
        Assert.Equal(tokens[0], notified.AccessToken);
    }

    [Fact]
    public async Task Refresh_with_a_token_already_replaced_uses_the_stored_one_without_a_grant()
    {
        var refreshed = new RecordingRefreshedHandler();
        await using var app = await TestServices.SignInAtEmulatorAsync(User, s => s.AddSingleton<IPitchlyTokenRefreshedHandler>(refreshed));
        var (pitchly, _, _, first, manager) = app;

        var second = await manager.RefreshAsync(User, first.AccessToken, TestContext.Current.CancellationToken);
        var again = await manager.RefreshAsync(User, first.AccessToken, TestContext.Current.CancellationToken);

        Assert.NotEqual(first.AccessToken, second.Value);
        Assert.Equal(second, again);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);

        // Callers get their token before the refreshed handlers run (they are not on the request's path).
        await Eventually.HoldsAsync(() => !refreshed.Contexts.IsEmpty, TimeSpan.FromSeconds(10), "the refreshed handler runs");
        Assert.Equal(second, Assert.Single(refreshed.Contexts).AccessToken);
    }

    [Fact]
    public async Task An_unreachable_token_endpoint_is_retried_per_policy_then_fails_clearly_and_keeps_the_refresh_token()
    {
        var closedPort = FindClosedPort();
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o =>
        {
            o.TokenEndpoint = $"http://127.0.0.1:{closedPort}/api/oauth/token";
            o.TokenEndpointRetryInterval = TimeSpan.FromSeconds(5);
            o.TokenEndpointRetryTimeout = TimeSpan.FromSeconds(20);
            o.RefreshTimeout = TimeSpan.FromHours(1);
        });
        var (pitchly, time, services, stored, manager) = app;
        using var requests = new MetricCollector<long>(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), PitchlyMetrics.MeterName, "pitchly.token.requests");
        time.Advance(TimeSpan.FromHours(2));

        var refresh = manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            // Fake time moves on while the refresh waits between attempts; the refresh's own timeout is out of reach.
            while (!refresh.IsCompleted)
            {
                time.Advance(TimeSpan.FromMilliseconds(500));
                await Task.Delay(5, timeout.Token);
            }
        }

        var exception = await Assert.ThrowsAsync<PitchlyTokenEndpointException>(() => refresh);
        Assert.Equal(5, requests.GetMeasurementSnapshot().Count(m => (string?)m.Tags["pitchly.outcome"] == "unreachable"));
        Assert.Contains("could not be reached", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PitchlyEmulatorDefaults.ClientSecret, exception.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(stored.RefreshToken!, exception.ToString(), StringComparison.Ordinal);
        Assert.Equal(stored.RefreshToken, (await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, TestContext.Current.CancellationToken))!.RefreshToken);
        Assert.True(await TestServices.SpendRefreshTokenAsync(pitchly, stored.RefreshToken!));
    }

    [Theory]
    [InlineData("html", "HTML")]
    [InlineData("invalid-json", "invalid JSON")]
    [InlineData("no-access-token", "without an access_token")]
    [InlineData("oversized", "more than")]
    [InlineData("server-error", "server_error")]
    public async Task Malformed_token_endpoint_answers_raise_typed_errors_without_secrets(string answer, string expectedMessage)
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, stored, _) = app;
        pitchly.TokenEndpointOverride = context => answer switch
        {
            "html" => WriteAsync(context, 502, "text/html", "<html><body>Bad gateway " + FakePitchly.ClientSecret + "</body></html>"),
            "invalid-json" => WriteAsync(context, 200, "application/json", "{\"access_token\":\"at_leaked\""),
            "no-access-token" => WriteAsync(context, 200, "application/json", """{"refresh_token":"rt_leaked","expires_in":3600}"""),
            "oversized" => WriteAsync(context, 200, "application/json", "{\"access_token\":\"" + new string('a', 100_000) + "\"}"),
            _ => WriteAsync(context, 500, "application/json", """{"error":"server_error","error_description":"rt_leaked"}"""),
        };
        time.Advance(TimeSpan.FromHours(2));

        var exception = await Assert.ThrowsAsync<PitchlyTokenEndpointException>(
            () => services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask());

        Assert.Contains(expectedMessage, exception.Message, StringComparison.Ordinal);
        Assert.NotNull(exception.StatusCode);
        foreach (var secret in new[] { FakePitchly.ClientSecret, "at_leaked", "rt_leaked", stored.RefreshToken!, "aaaaaaaa" })
        {
            Assert.DoesNotContain(secret, exception.Message, StringComparison.Ordinal);
        }

        // Nothing is lost: the tokens stay, the fence is gone, and a refresh token whose answer was unreadable is marked as
        // possibly spent (an OAuth error answer says Pitchly did not take it).
        var after = (await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, TestContext.Current.CancellationToken))!;
        Assert.Equal(stored.AccessToken, after.AccessToken);
        Assert.Equal(stored.RefreshToken, after.RefreshToken);
        Assert.Null(after.RefreshIntent);
        Assert.Equal(answer != "server-error", after.RefreshTokenMayBeSpent);
    }

    [Fact]
    public async Task Invalid_settings_fail_at_start_with_messages_that_say_what_to_fix()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Pitchly:ClientId"] = "app";
        builder.Configuration["Pitchly:TokenEndpoint"] = "/relative";
        builder.Configuration["Pitchly:TokenManagement:RefreshTimeout"] = "00:00:00";
        builder.Services.AddPitchlyTokenManagement();
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(exception.Failures, f => f.Contains("Pitchly:TokenEndpoint must be an absolute", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("Pitchly:ClientSecret is missing", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("RefreshTimeout must be a positive duration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_fence_that_does_not_outlast_the_token_request_fails_at_start_naming_both_settings()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:01:00";
        builder.Configuration["Pitchly:TokenManagement:FenceTimeout"] = "00:01:00";
        builder.Configuration["Pitchly:TokenManagement:RejectedTokenLimit"] = "1";
        builder.Services.AddPitchlyTokenManagement();
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(exception.Failures, f => f.Contains("FenceTimeout (00:01:00) must exceed Pitchly:TokenManagement:TokenRequestTimeout (00:01:00)", StringComparison.Ordinal)
                                                  && f.Contains("Raise FenceTimeout or lower TokenRequestTimeout", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.Contains("RejectedTokenLimit must be at least 2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_store_write_retry_shorter_than_the_fence_fails_at_start_naming_both_settings_and_the_fix()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Pitchly:TokenManagement:FenceTimeout"] = "00:00:45";
        builder.Configuration["Pitchly:TokenManagement:StoreWriteRetryTimeout"] = "00:00:30";
        builder.Services.AddPitchlyTokenManagement();
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        var failure = Assert.Single(exception.Failures);
        Assert.Contains("StoreWriteRetryTimeout (00:00:30) is shorter than Pitchly:TokenManagement:FenceTimeout (00:00:45)", failure, StringComparison.Ordinal);
        Assert.Contains("Raise StoreWriteRetryTimeout to at least FenceTimeout, or lower FenceTimeout", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_are_bound_from_the_Pitchly_section_and_its_TokenManagement_section()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["Pitchly:ClientId"] = "app";
        builder.Configuration["Pitchly:ClientSecret"] = "secret";
        builder.Configuration["Pitchly:TokenManagement:RefreshBeforeExpiry"] = "00:02:00";
        builder.Services.AddPitchlyTokenManagement();
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        var options = host.Services.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal("app", options.ClientId);
        Assert.Equal(TimeSpan.FromMinutes(2), options.RefreshBeforeExpiry);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    private static int FindClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task WriteAsync(Microsoft.AspNetCore.Http.HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(context.Response, body);
    }

    private static StringContent JsonBody(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private sealed class RecordingRefreshedHandler : IPitchlyTokenRefreshedHandler
    {
        public System.Collections.Concurrent.ConcurrentQueue<PitchlyTokenRefreshedContext> Contexts { get; } = new();

        public ValueTask OnTokenRefreshedAsync(PitchlyTokenRefreshedContext context, CancellationToken cancellationToken)
        {
            Contexts.Enqueue(context);
            return ValueTask.CompletedTask;
        }
    }
}

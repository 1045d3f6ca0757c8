using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class FaultAndAdminTests
{
    [Fact]
    public async Task DropAfterGrant_spends_the_refresh_token_and_sends_no_response()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var refreshToken = (await ClientCredentialsLikeSignIn(server, http))["refresh_token"]!.GetValue<string>();

        server.Emulator.Configure(o =>
        {
            o.TokenEndpointFault = PitchlyEmulatorFault.DropAfterGrant;
            o.TokenEndpointFaultRate = 1;
        });
        await Assert.ThrowsAsync<HttpRequestException>(() => Refresh(http, refreshToken));
        server.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
        using var retry = await Refresh(http, refreshToken);

        Assert.Equal(HttpStatusCode.BadRequest, retry.StatusCode);
        var stats = server.Emulator.GetStats();
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(1, stats.RefreshTokenReuse);
        Assert.Equal(1, stats.RevokedFamilies);
    }

    [Fact]
    public async Task DelayAfterGrant_applies_the_grant_before_holding_the_answer_and_then_answers_with_the_new_tokens()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await StartAsync(timeProvider: time);
        var refreshToken = (await host.SignInAsync())["refresh_token"]!.GetValue<string>();
        host.Emulator.Configure(o =>
        {
            o.TokenEndpointFault = PitchlyEmulatorFault.DelayAfterGrant;
            o.TokenEndpointFaultRate = 1;
            o.TokenEndpointFaultDelay = TimeSpan.FromSeconds(30);
        });

        var answer = host.RefreshAsync(refreshToken);
        var waited = Stopwatch.StartNew();
        while (host.Emulator.GetStats().RefreshGrants == 0 && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20, Cancellation);
        }

        // The grant is applied while the answer is still held.
        Assert.Equal(1, host.Emulator.GetStats().RefreshGrants);
        Assert.False(answer.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(30));

        var body = await answer.WaitAsync(TimeSpan.FromSeconds(20), Cancellation);
        Assert.NotNull(body["access_token"]);
        Assert.NotEqual(refreshToken, body["refresh_token"]!.GetValue<string>());
        Assert.Equal(1, host.Emulator.GetStats().InjectedFaults);
    }

    [Fact]
    public async Task ServerError_fails_before_the_grant_so_the_refresh_token_still_works()
    {
        await using var host = await StartAsync();
        var refreshToken = (await host.SignInAsync())["refresh_token"]!.GetValue<string>();

        host.Emulator.Configure(o =>
        {
            o.TokenEndpointFault = PitchlyEmulatorFault.ServerError;
            o.TokenEndpointFaultRate = 1;
        });
        using var failed = await host.TokenAsync(("grant_type", "refresh_token"), ("refresh_token", refreshToken));
        var failedBody = JsonNode.Parse(await failed.Content.ReadAsStringAsync(Cancellation))!;
        host.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("server_error", failedBody["error"]!.GetValue<string>());
        Assert.NotNull((await host.RefreshAsync(refreshToken))["access_token"]);
        Assert.Equal(0, host.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task Html_fault_answers_502_with_an_HTML_body_and_applies_nothing()
    {
        await using var host = await StartAsync(o =>
        {
            o.TokenEndpointFault = PitchlyEmulatorFault.Html;
            o.TokenEndpointFaultRate = 1;
        });

        using var response = await host.TokenAsync(("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.AcmeOrganizationId));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(0, host.Emulator.GetStats().ClientCredentialsGrants);
        Assert.Equal(1, host.Emulator.GetStats().InjectedFaults);
    }

    [Fact]
    public async Task Latency_delays_token_and_GraphQL_requests()
    {
        var latency = TimeSpan.FromMilliseconds(300);
        await using var host = await StartAsync(o => o.Latency = latency);

        var stopwatch = Stopwatch.StartNew();
        using var token = await host.TokenAsync(("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.AcmeOrganizationId));
        var tokenElapsed = stopwatch.Elapsed;
        stopwatch.Restart();
        await host.GraphQLAsync("{ organization { id } }");
        var graphQLElapsed = stopwatch.Elapsed;

        Assert.True(tokenElapsed >= latency, $"The token request took {tokenElapsed}.");
        Assert.True(graphQLElapsed >= latency, $"The GraphQL request took {graphQLElapsed}.");
    }

    [Fact]
    public async Task Stats_endpoint_uses_snake_case_names_and_resets()
    {
        await using var host = await StartAsync();
        await host.SignInAsync();
        await host.GraphQLAsync("{ organization { id } }");

        var stats = await host.Http.GetFromJsonAsync<JsonObject>("/_emulator/stats", Cancellation);
        using var reset = await host.Http.PostAsync("/_emulator/stats/reset", null, Cancellation);
        var afterReset = await host.Http.GetFromJsonAsync<JsonObject>("/_emulator/stats", Cancellation);

        Assert.Equal(1, stats!["token_requests"]!.GetValue<long>());
        Assert.Equal(1, stats["authorization_code_grants"]!.GetValue<long>());
        Assert.Equal(1, stats["graphql_requests"]!.GetValue<long>());
        Assert.Equal(1, stats["graphql_unauthenticated"]!.GetValue<long>());
        foreach (var name in new[] { "refresh_grants", "client_credentials_grants", "token_exchange_grants", "refresh_token_reuse", "revoked_families", "early_invalidations", "failed_token_requests" })
        {
            Assert.Equal(0, stats[name]!.GetValue<long>());
        }

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.All(afterReset!, p => Assert.Equal(0, p.Value!.GetValue<long>()));
        Assert.Empty(host.Emulator.GraphQLRequests);
    }

    [Fact]
    public async Task Settings_endpoint_changes_knobs_and_refuses_bad_ones()
    {
        await using var host = await StartAsync();

        using var changed = await host.Http.PostAsJsonAsync("/_emulator/settings", new { accessTokenLifetime = "00:00:05", errorStyle = "Legacy", strictRefreshTokenReuse = false }, Cancellation);
        using var outOfRange = await host.Http.PostAsJsonAsync("/_emulator/settings", new { earlyInvalidationRate = 2 }, Cancellation);
        using var unknown = await host.Http.PostAsJsonAsync("/_emulator/settings", new { noSuchKnob = true }, Cancellation);
        var tokens = await host.TokenJsonAsync(HttpStatusCode.OK, ("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.AcmeOrganizationId));

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(5, tokens["expires_in"]!.GetValue<long>());
        Assert.Equal(PitchlyEmulatorErrorStyle.Legacy, host.Emulator.CurrentOptions.ErrorStyle);
        Assert.False(host.Emulator.CurrentOptions.StrictRefreshTokenReuse);
        Assert.Equal(HttpStatusCode.BadRequest, outOfRange.StatusCode);
        Assert.Contains("EarlyInvalidationRate", await outOfRange.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(0, host.Emulator.CurrentOptions.EarlyInvalidationRate);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task App_SDK_token_endpoint_answers_in_the_onConnect_shape()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.PostAsync($"/_emulator/app-sdk-token?organization_id={PitchlyEmulatorDefaults.GlobexOrganizationId}", null, Cancellation);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        using var unknown = await host.Http.PostAsync("/_emulator/app-sdk-token?organization_id=orgNope", null, Cancellation);

        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, body["organizationId"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(body["accessTokenExpiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _));
        var call = await host.GraphQLAsync("{ organization { id } }", bearer: body["accessToken"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, call["data"]!["organization"]!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task Invalidate_endpoint_invalidates_one_persons_tokens()
    {
        await using var host = await StartAsync();
        await host.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        await host.SignInAsync(PitchlyEmulatorDefaults.GraceHopperPersonId);

        using var response = await host.Http.PostAsync($"/_emulator/invalidate?person_id={PitchlyEmulatorDefaults.GraceHopperPersonId}", null, Cancellation);

        Assert.Equal(1, JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!["invalidated"]!.GetValue<int>());
        Assert.Equal(1, host.Emulator.GetStats().EarlyInvalidations);
    }

    private static async Task<JsonObject> ClientCredentialsLikeSignIn(PitchlyEmulatorServer server, HttpClient http)
    {
        using var response = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token"] = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId),
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token",
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), Cancellation);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!.AsObject();
    }

    private static Task<HttpResponseMessage> Refresh(HttpClient http, string refreshToken) =>
        http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), Cancellation);
}

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class TokenEndpointTests
{
    private const string Identity = "{ organization { id } viewer { person { id name email image } } }";

    [Fact]
    public async Task Authorization_code_grant_returns_tokens_in_Pitchlys_shape()
    {
        await using var host = await StartAsync();

        var tokens = await host.SignInAsync();

        Assert.StartsWith("plyu_", tokens["access_token"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(48, tokens["access_token"]!.GetValue<string>().Length);
        Assert.Equal("Bearer", tokens["token_type"]!.GetValue<string>());
        Assert.Equal(3600, tokens["expires_in"]!.GetValue<long>());
        Assert.NotNull(tokens["refresh_token"]);
        Assert.Equal(PitchlyEmulatorDefaults.Scope, tokens["scope"]!.GetValue<string>());
        Assert.Equal(1, host.Emulator.GetStats().AuthorizationCodeGrants);
    }

    [Fact]
    public async Task Refresh_rotates_both_tokens_and_spends_the_old_refresh_token()
    {
        await using var host = await StartAsync();
        var first = await host.SignInAsync();

        var second = await host.RefreshAsync(first["refresh_token"]!.GetValue<string>());
        var replay = await host.RefreshAsync(first["refresh_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);

        Assert.NotEqual(first["access_token"]!.GetValue<string>(), second["access_token"]!.GetValue<string>());
        Assert.NotEqual(first["refresh_token"]!.GetValue<string>(), second["refresh_token"]!.GetValue<string>());
        Assert.Equal("invalid_grant", replay["error"]!.GetValue<string>());
        Assert.Equal(1, host.Emulator.GetStats().RefreshGrants);
        Assert.Equal(1, host.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task Reused_refresh_token_revokes_the_whole_family_in_strict_mode()
    {
        await using var host = await StartAsync(o => o.StrictRefreshTokenReuse = true);
        var first = await host.SignInAsync();
        var second = await host.RefreshAsync(first["refresh_token"]!.GetValue<string>());

        await host.RefreshAsync(first["refresh_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);

        var newest = await host.RefreshAsync(second["refresh_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_grant", newest["error"]!.GetValue<string>());
        var call = await host.GraphQLAsync(Identity, bearer: second["access_token"]!.GetValue<string>());
        Assert.Equal("UNAUTHENTICATED", ErrorCode(call));
        var stats = host.Emulator.GetStats();
        Assert.Equal(1, stats.RefreshTokenReuse);
        Assert.Equal(1, stats.RevokedFamilies);
    }

    [Fact]
    public async Task Reused_refresh_token_leaves_the_family_alone_when_not_strict()
    {
        await using var host = await StartAsync(o => o.StrictRefreshTokenReuse = false);
        var first = await host.SignInAsync();
        var second = await host.RefreshAsync(first["refresh_token"]!.GetValue<string>());

        await host.RefreshAsync(first["refresh_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);

        var call = await host.GraphQLAsync(Identity, bearer: second["access_token"]!.GetValue<string>());
        Assert.Null(call["errors"]);
        await host.RefreshAsync(second["refresh_token"]!.GetValue<string>());
        Assert.Equal(1, host.Emulator.GetStats().RefreshTokenReuse);
        Assert.Equal(0, host.Emulator.GetStats().RevokedFamilies);
    }

    [Fact]
    public async Task Concurrent_uses_of_one_refresh_token_let_exactly_one_win()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.StrictRefreshTokenReuse = false, Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var refreshTokens = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var grant = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
                ["subject_token"] = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId),
                ["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token",
                ["client_id"] = PitchlyEmulatorDefaults.ClientId,
                ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
            }), Cancellation);
            refreshTokens.Add(JsonNode.Parse(await grant.Content.ReadAsStringAsync(Cancellation))!["refresh_token"]!.GetValue<string>());
        }

        // Ten racers per token, all tokens at once.
        var attempts = refreshTokens.SelectMany(token => Enumerable.Range(0, 10).Select(_ => token)).Select(async token =>
        {
            using var response = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = token,
                ["client_id"] = PitchlyEmulatorDefaults.ClientId,
                ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
            }), Cancellation);
            return (token, response.StatusCode);
        });
        var results = await Task.WhenAll(attempts);

        foreach (var group in results.GroupBy(r => r.token))
        {
            Assert.Equal(1, group.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(9, group.Count(r => r.StatusCode == HttpStatusCode.BadRequest));
        }

        Assert.Equal(20, server.Emulator.GetStats().RefreshGrants);
        Assert.Equal(180, server.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task Pkce_S256_accepts_the_right_verifier_and_rejects_a_wrong_one()
    {
        await using var host = await StartAsync();
        var (verifier, challenge) = CreatePkce();

        var wrong = await host.RedeemAsync(await host.AuthorizeAsync(challenge: challenge, method: "S256"), CreatePkce().Verifier, expectedStatus: HttpStatusCode.BadRequest);
        var missing = await host.RedeemAsync(await host.AuthorizeAsync(challenge: challenge, method: "S256"), verifier: null, expectedStatus: HttpStatusCode.BadRequest);
        var right = await host.RedeemAsync(await host.AuthorizeAsync(challenge: challenge, method: "S256"), verifier);

        Assert.Equal("invalid_grant", wrong["error"]!.GetValue<string>());
        Assert.Equal("invalid_grant", missing["error"]!.GetValue<string>());
        Assert.NotNull(right["access_token"]);
    }

    [Fact]
    public async Task Pkce_challenge_without_a_method_is_plain()
    {
        await using var host = await StartAsync();
        var (verifier, challenge) = CreatePkce();

        var hashedVerifierFails = await host.RedeemAsync(await host.AuthorizeAsync(challenge: verifier), challenge, expectedStatus: HttpStatusCode.BadRequest);
        var plain = await host.RedeemAsync(await host.AuthorizeAsync(challenge: verifier), verifier);

        Assert.Equal("invalid_grant", hashedVerifierFails["error"]!.GetValue<string>());
        Assert.NotNull(plain["access_token"]);
    }

    [Fact]
    public async Task Replayed_authorization_code_is_rejected_and_revokes_what_it_issued()
    {
        await using var host = await StartAsync();
        var code = await host.AuthorizeAsync();
        var tokens = await host.RedeemAsync(code);

        var replay = await host.RedeemAsync(code, expectedStatus: HttpStatusCode.BadRequest);

        Assert.Equal("invalid_grant", replay["error"]!.GetValue<string>());
        Assert.Equal("UNAUTHENTICATED", ErrorCode(await host.GraphQLAsync(Identity, bearer: tokens["access_token"]!.GetValue<string>())));
        await host.RefreshAsync(tokens["refresh_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);
        Assert.Equal(1, host.Emulator.GetStats().AuthorizationCodeReplays);
    }

    [Fact]
    public async Task Authorization_code_expires_after_its_lifetime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var host = await StartAsync(o => o.AuthorizationCodeLifetime = TimeSpan.FromSeconds(30), time);
        var fresh = await host.AuthorizeAsync();
        var stale = await host.AuthorizeAsync();

        await host.RedeemAsync(fresh);
        time.Advance(TimeSpan.FromSeconds(30));
        var expired = await host.RedeemAsync(stale, expectedStatus: HttpStatusCode.BadRequest);

        Assert.Equal("invalid_grant", expired["error"]!.GetValue<string>());
        Assert.Contains("expired", expired["error_description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Access_token_stops_working_when_it_expires()
    {
        var time = new FakeTimeProvider();
        await using var host = await StartAsync(o => o.AccessTokenLifetime = TimeSpan.FromMinutes(5), time);
        var tokens = await host.SignInAsync();
        var accessToken = tokens["access_token"]!.GetValue<string>();
        Assert.Equal(300, tokens["expires_in"]!.GetValue<long>());

        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Null((await host.GraphQLAsync(Identity, bearer: accessToken))["errors"]);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("UNAUTHENTICATED", ErrorCode(await host.GraphQLAsync(Identity, bearer: accessToken)));
    }

    [Fact]
    public async Task Token_request_must_repeat_the_authorization_requests_redirect_uri()
    {
        await using var host = await StartAsync();
        var code = await host.AuthorizeAsync();

        var mismatch = await host.RedeemAsync(code, redirectUri: "http://127.0.0.1:5055/elsewhere", expectedStatus: HttpStatusCode.BadRequest);

        Assert.Equal("invalid_grant", mismatch["error"]!.GetValue<string>());
        Assert.NotNull((await host.RedeemAsync(code))["access_token"]);
    }

    [Theory]
    [InlineData("appUnknownClient00001", PitchlyEmulatorDefaults.ClientSecret)]
    [InlineData(PitchlyEmulatorDefaults.ClientId, "plys_WrongSecretWrongSecretWrongSecretWrongSecre")]
    [InlineData(PitchlyEmulatorDefaults.ClientId, "")]
    public async Task Bad_client_authentication_is_invalid_client_and_echoes_no_secret(string clientId, string clientSecret)
    {
        await using var host = await StartAsync();

        using var response = await host.TokenAsync(clientId, clientSecret, ("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.AcmeOrganizationId));
        var body = await response.Content.ReadAsStringAsync(Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_client", JsonNode.Parse(body)!["error"]!.GetValue<string>());
        Assert.DoesNotContain("plys_", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_grant_type_is_unsupported()
    {
        await using var host = await StartAsync();

        var response = await host.TokenJsonAsync(HttpStatusCode.BadRequest, ("grant_type", "password"));

        Assert.Equal("unsupported_grant_type", response["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Client_credentials_give_an_app_token_for_the_install_without_a_refresh_token()
    {
        await using var host = await StartAsync();

        var tokens = await host.TokenJsonAsync(HttpStatusCode.OK, ("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.GlobexOrganizationId));
        var unknown = await host.TokenJsonAsync(HttpStatusCode.BadRequest, ("grant_type", "client_credentials"), ("organization_id", "orgNoSuchOrganizatio"));

        Assert.Null(tokens["refresh_token"]);
        var call = await host.GraphQLAsync(Identity, bearer: tokens["access_token"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, call["data"]!["organization"]!["id"]!.GetValue<string>());
        Assert.Null(call["data"]!["viewer"]!["person"]);
        Assert.Equal("invalid_request", unknown["error"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorCredentialKind.InstallAccessToken, host.Emulator.GraphQLRequests[^1].CredentialKind);
    }

    [Fact]
    public async Task Token_exchange_turns_a_live_App_SDK_token_into_rotating_install_tokens()
    {
        var time = new FakeTimeProvider();
        await using var host = await StartAsync(timeProvider: time);
        var sdkToken = host.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.GlobexOrganizationId, TimeSpan.FromMinutes(10));
        var expiring = host.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.GlobexOrganizationId, TimeSpan.FromMinutes(1));

        var tokens = await Exchange(host, sdkToken, HttpStatusCode.OK);
        var rotated = await host.RefreshAsync(tokens["refresh_token"]!.GetValue<string>());
        time.Advance(TimeSpan.FromMinutes(2));
        var expired = await Exchange(host, expiring, HttpStatusCode.BadRequest);
        var notSdk = await Exchange(host, rotated["access_token"]!.GetValue<string>(), HttpStatusCode.BadRequest);

        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", tokens["issued_token_type"]!.GetValue<string>());
        var call = await host.GraphQLAsync(Identity, bearer: rotated["access_token"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, call["data"]!["organization"]!["id"]!.GetValue<string>());
        Assert.Equal("invalid_grant", expired["error"]!.GetValue<string>());
        Assert.Equal("invalid_grant", notSdk["error"]!.GetValue<string>());
        Assert.Equal(1, host.Emulator.GetStats().TokenExchangeGrants);

        static Task<JsonObject> Exchange(EmulatorTestHost host, string subjectToken, HttpStatusCode expected) => host.TokenJsonAsync(
            expected,
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", subjectToken),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"));
    }

    [Fact]
    public async Task Scope_narrows_the_access_token_but_not_the_refresh_token()
    {
        await using var host = await StartAsync();
        var full = await host.SignInAsync();

        var readOnly = await host.TokenJsonAsync(HttpStatusCode.OK, ("grant_type", "refresh_token"), ("refresh_token", full["refresh_token"]!.GetValue<string>()), ("scope", ""));
        var restored = await host.RefreshAsync(readOnly["refresh_token"]!.GetValue<string>());
        var widened = await host.TokenJsonAsync(HttpStatusCode.BadRequest, ("grant_type", "refresh_token"), ("refresh_token", restored["refresh_token"]!.GetValue<string>()), ("scope", "admin:everything"));

        Assert.Equal(string.Empty, readOnly["scope"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.Scope, restored["scope"]!.GetValue<string>());
        Assert.Equal("invalid_scope", widened["error"]!.GetValue<string>());
    }
}

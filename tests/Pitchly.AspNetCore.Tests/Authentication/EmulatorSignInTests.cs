using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Authentication;

/// <summary>Sign-in end to end: the app and the emulator each on real Kestrel at 127.0.0.1, a cookie-keeping client between them.</summary>
public sealed partial class EmulatorSignInTests
{
    private static readonly PitchlyTokenKey AdaKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    [Fact]
    public async Task A_full_sign_in_against_the_emulator_signs_the_person_in_and_stores_working_tokens()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(options => options.AutoApprove = true, cancellationToken);
        await using var app = await KestrelSignInApp.StartAsync(emulator.ClientConfiguration);

        using var response = await app.Browser.GetAsync("/login", cancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/me", response.RequestMessage?.RequestUri?.AbsolutePath);
        var claims = (await response.Content.ReadAsStringAsync(cancellationToken)).Split('\n');
        Assert.Contains($"{ClaimTypes.NameIdentifier}={PitchlyEmulatorDefaults.AdaLovelacePersonId}", claims);
        Assert.Contains($"{ClaimTypes.Name}={PitchlyEmulatorDefaults.AdaLovelaceName}", claims);
        Assert.Contains($"{ClaimTypes.Email}={PitchlyEmulatorDefaults.AdaLovelaceEmail}", claims);
        Assert.Contains($"{PitchlyClaimTypes.Picture}={PitchlyEmulatorDefaults.AdaLovelaceImage}", claims);
        Assert.Contains($"{PitchlyClaimTypes.OrganizationId}={PitchlyEmulatorDefaults.AcmeOrganizationId}", claims);

        var record = await app.Store.GetAsync(AdaKey, cancellationToken);
        Assert.NotNull(record);
        Assert.False(string.IsNullOrEmpty(record.RefreshToken));
        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationId, record.OrganizationId);
        Assert.Equal(1, emulator.Emulator.GetStats().AuthorizationCodeGrants);

        // The stored access token is the one Pitchly issued: it answers the identity query as the signed-in person.
        using var query = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.BaseAddress, PitchlyEmulatorDefaults.GraphQLPath))
        {
            Content = JsonContent.Create(new { query = "{ viewer { person { id } } }" }),
        };
        query.Headers.Authorization = new AuthenticationHeaderValue("Bearer", record.AccessToken);
        using var client = new HttpClient();
        using var answer = await client.SendAsync(query, cancellationToken);
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(cancellationToken));
        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, json.RootElement.GetProperty("data").GetProperty("viewer").GetProperty("person").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_brand_new_access_token_invalidated_before_the_identity_query_is_refreshed_once_and_the_sign_in_succeeds()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(options => options.AutoApprove = true, cancellationToken);
        var invalidating = new InvalidateBeforeFirstGraphQLRequest(emulator);
        await using var app = await KestrelSignInApp.StartAsync(emulator.ClientConfiguration, options => options.BackchannelHttpHandler = invalidating);

        using var response = await app.Browser.GetAsync("/login", cancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/me", response.RequestMessage?.RequestUri?.AbsolutePath);
        Assert.Equal(1, invalidating.Invalidated);
        var stats = emulator.Emulator.GetStats();
        Assert.Equal(1, stats.AuthorizationCodeGrants);
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(2, stats.GraphQLRequests);
        Assert.Equal(1, stats.GraphQLUnauthenticated);

        // The stored pair is the refreshed one: its refresh token is live (spending it succeeds, no reuse).
        var record = await app.Store.GetAsync(AdaKey, cancellationToken);
        Assert.NotNull(record);
        using var client = new HttpClient();
        using var refresh = await client.PostAsync(new Uri(emulator.BaseAddress, "/api/oauth/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = record.RefreshToken!,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), cancellationToken);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
        Assert.Equal(0, emulator.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task An_access_token_refused_again_after_the_one_refresh_fails_the_sign_in_without_a_loop()
    {
        var (stats, stored) = await SignInWithEveryTokenRefusedAsync();

        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(2, stats.GraphQLRequests);
        Assert.Null(stored);
    }

    [Fact]
    public async Task The_identity_query_recognises_a_rejected_token_by_the_configured_invalid_token_codes()
    {
        // Only the legacy code is listed: the platform's UNAUTHENTICATED is then an identity problem, not a reason to refresh.
        var (stats, _) = await SignInWithEveryTokenRefusedAsync(KeyValuePair.Create("Pitchly:AccessToken:InvalidTokenErrorCodes", (string?)"token-invalid"));

        Assert.Equal(0, stats.RefreshGrants);
        Assert.Equal(1, stats.GraphQLRequests);
    }

    /// <summary>Signs in against an emulator that invalidates every token at once; the sign-in fails on the identity query.</summary>
    private static async Task<(PitchlyEmulatorStats Stats, PitchlyTokenRecord? Stored)> SignInWithEveryTokenRefusedAsync(params KeyValuePair<string, string?>[] settings)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(options => { options.AutoApprove = true; options.EarlyInvalidationRate = 1; }, cancellationToken);
        await using var app = await KestrelSignInApp.StartAsync(emulator.ClientConfiguration.Concat(settings));

        using var response = await app.Browser.GetAsync("/login", cancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("identity query", await response.Content.ReadAsStringAsync(cancellationToken), StringComparison.Ordinal);
        return (emulator.Emulator.GetStats(), await app.Store.GetAsync(AdaKey, cancellationToken));
    }

    [Fact]
    public async Task A_replayed_authorization_code_is_rejected()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(options => options.AutoApprove = true, cancellationToken);
        await using var app = await KestrelSignInApp.StartAsync(emulator.ClientConfiguration);
        using var stepper = new HttpClient(new HttpClientHandler { CookieContainer = app.Cookies, AllowAutoRedirect = false }) { BaseAddress = app.Address };

        using var challenge = await stepper.GetAsync("/login", cancellationToken);
        using var approval = await stepper.GetAsync(challenge.Headers.Location, cancellationToken);
        var callbackUri = approval.Headers.Location!;
        Assert.Equal("/signin-pitchly", callbackUri.AbsolutePath);
        var callbackPath = new Uri(app.Address, "/signin-pitchly");
        var correlationCookies = app.Cookies.GetCookies(callbackPath).Select(cookie => new Cookie(cookie.Name, cookie.Value, cookie.Path)).ToList();
        Assert.NotEmpty(correlationCookies);

        using var first = await stepper.GetAsync(callbackUri, cancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.Equal("/me", first.Headers.Location?.OriginalString);

        // Replay the very same callback, correlation cookie included, as an attacker holding a copy would.
        correlationCookies.ForEach(cookie => app.Cookies.Add(callbackPath, cookie));
        using var replay = await stepper.GetAsync(callbackUri, cancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
        Assert.Contains("Pitchly's token endpoint refused the authorization code with error 'invalid_grant'", await replay.Content.ReadAsStringAsync(cancellationToken), StringComparison.Ordinal);
        var stats = emulator.Emulator.GetStats();
        Assert.Equal(1, stats.AuthorizationCodeGrants);
        Assert.Equal(1, stats.AuthorizationCodeReplays);
    }

    [Fact]
    public async Task Denied_consent_ends_on_the_access_denied_page_without_signing_in()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: cancellationToken);
        await using var app = await KestrelSignInApp.StartAsync(emulator.ClientConfiguration, options => options.AccessDeniedPath = "/denied");

        using var consent = await app.Browser.GetAsync("/login", cancellationToken);
        Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
        var page = await consent.Content.ReadAsStringAsync(cancellationToken);
        var fields = HiddenInput().Matches(page)
            .ToDictionary(match => WebUtility.HtmlDecode(match.Groups["name"].Value), match => WebUtility.HtmlDecode(match.Groups["value"].Value));
        fields["decision"] = "deny";
        var action = WebUtility.HtmlDecode(FormAction().Match(page).Groups["action"].Value);

        using var denied = await app.Browser.PostAsync(new Uri(emulator.BaseAddress, action), new FormUrlEncodedContent(fields), cancellationToken);

        Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        Assert.Equal("/denied", denied.RequestMessage?.RequestUri?.AbsolutePath);
        Assert.Equal("You declined to sign in with Pitchly.", await denied.Content.ReadAsStringAsync(cancellationToken));
        Assert.DoesNotContain(app.Cookies.GetCookies(app.Address), cookie => cookie.Name == ".AspNetCore.Cookies");
        Assert.Null(await app.Store.GetAsync(AdaKey, cancellationToken));
        Assert.Equal(0, emulator.Emulator.GetStats().TokenRequests);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenInput();

    [GeneratedRegex("<form id=\"consent\" method=\"post\" action=\"(?<action>[^\"]*)\"")]
    private static partial Regex FormAction();

    /// <summary>The sign-in backchannel, which has the emulator invalidate Ada's live access tokens just before the first GraphQL request.</summary>
    private sealed class InvalidateBeforeFirstGraphQLRequest(PitchlyEmulatorServer emulator) : DelegatingHandler(new HttpClientHandler())
    {
        private int _invalidated;

        public int Invalidated => Volatile.Read(ref _invalidated);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri?.AbsolutePath == PitchlyEmulatorDefaults.GraphQLPath && Interlocked.CompareExchange(ref _invalidated, 1, 0) == 0)
            {
                emulator.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}

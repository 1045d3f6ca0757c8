using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class SignInFlowTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public async Task Challenge_redirects_to_Pitchly_with_client_id_redirect_uri_state_and_an_S256_code_challenge()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        var authorize = await app.ChallengeAsync();

        Assert.Equal("code", authorize["response_type"]);
        Assert.Equal(FakePitchly.ClientId, authorize["client_id"]);
        Assert.Equal("https://app.test/signin-pitchly", authorize["redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(authorize["state"]));
        Assert.Equal("S256", authorize["code_challenge_method"]);
        Assert.Equal(43, authorize["code_challenge"].ToString().Length);
        Assert.DoesNotContain("client_secret", authorize.Keys);
    }

    [Theory]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/%09/evil.example", "/")]
    [InlineData("/reports/1?tab=2", "/reports/1?tab=2")]
    public async Task A_challenge_without_a_redirect_uri_returns_after_sign_in_only_to_a_local_page(string path, string expectedLocation)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly, configureApp: web => web.MapGet("/{**rest}", () => Results.Challenge()));

        var authorize = await app.ChallengeAsync(path);
        using var callback = await app.CallbackAsync($"code=the-code&state={Uri.EscapeDataString(authorize["state"]!)}");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(expectedLocation, callback.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Callback_sends_the_code_verifier_and_client_credentials_in_the_form_body()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        var authorize = await app.ChallengeAsync();
        using var callback = await app.CallbackAsync($"code=the-code&state={Uri.EscapeDataString(authorize["state"]!)}");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var form = Assert.Single(pitchly.TokenRequests);
        Assert.Equal("authorization_code", form["grant_type"]);
        Assert.Equal("the-code", form["code"]);
        Assert.Equal("https://app.test/signin-pitchly", form["redirect_uri"]);
        Assert.Equal(FakePitchly.ClientId, form["client_id"]);
        Assert.Equal(FakePitchly.ClientSecret, form["client_secret"]);
        var challenge = WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"])));
        Assert.Equal(authorize["code_challenge"].ToString(), challenge);
    }

    [Fact]
    public async Task Callback_runs_the_identity_query_with_the_access_token_and_maps_every_claim()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        using var callback = await app.SignInAsync();
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/me", callback.Headers.Location?.OriginalString);

        var query = Assert.Single(pitchly.GraphQLRequests);
        Assert.Equal($"Bearer {FakePitchly.AccessToken}", query.Authorization);
        Assert.StartsWith("application/json", query.ContentType, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(query.Body);
        Assert.Equal("{ organization { id } viewer { person { id name email image } } }", body.RootElement.GetProperty("query").GetString());

        var claims = (await app.GetClaimsAsync()).ToDictionary(claim => claim.Type);
        Assert.Equal(FakePitchly.PersonId, claims[ClaimTypes.NameIdentifier].Value);
        Assert.Equal(FakePitchly.PersonId, claims[PitchlyClaimTypes.PersonId].Value);
        Assert.Equal(FakePitchly.PersonName, claims[ClaimTypes.Name].Value);
        Assert.Equal(FakePitchly.PersonEmail, claims[ClaimTypes.Email].Value);
        Assert.Equal(FakePitchly.PersonImage, claims[PitchlyClaimTypes.Picture].Value);
        Assert.Equal(FakePitchly.OrganizationId, claims[PitchlyClaimTypes.OrganizationId].Value);
        Assert.All(claims.Values, claim => Assert.Equal(PitchlyAuthenticationDefaults.Issuer, claim.Issuer));
    }

    [Fact]
    public async Task Tokens_are_stored_under_the_person_key_and_never_in_the_cookie()
    {
        var time = new FakeTimeProvider(Now);
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly, timeProvider: time);

        using var callback = await app.SignInAsync();

        var record = await app.Store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), TestContext.Current.CancellationToken);
        Assert.NotNull(record);
        Assert.Equal(FakePitchly.AccessToken, record.AccessToken);
        Assert.Equal(FakePitchly.RefreshToken, record.RefreshToken);
        Assert.Equal(Now, record.IssuedAt);
        Assert.Equal(Now.AddSeconds(3600), record.ExpiresAt);
        Assert.Equal("records:update teams:read", record.Scope);
        Assert.Equal(FakePitchly.OrganizationId, record.OrganizationId);

        var ticket = app.ReadAuthenticationTicket();
        Assert.NotNull(ticket);
        Assert.Empty(ticket.Properties.GetTokens());
        var serialized = Encoding.UTF8.GetString(TicketSerializer.Default.Serialize(ticket));
        Assert.DoesNotContain(FakePitchly.AccessToken, serialized, StringComparison.Ordinal);
        Assert.DoesNotContain(FakePitchly.RefreshToken, serialized, StringComparison.Ordinal);
        Assert.Contains(FakePitchly.PersonId, serialized, StringComparison.Ordinal);
        Assert.Equal(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), PitchlyTokenKey.FromPrincipal(ticket.Principal));
    }

    [Fact]
    public async Task Tampered_state_is_rejected_before_the_code_is_exchanged()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        var authorize = await app.ChallengeAsync();
        var state = authorize["state"].ToString();
        var tampered = state[..^2] + (state[^2] == 'A' ? "BB" : "AA");
        using var callback = await app.CallbackAsync($"code=the-code&state={Uri.EscapeDataString(tampered)}");

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Contains("state was missing or invalid", await callback.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(pitchly.TokenRequests);
        Assert.Null(app.AuthenticationCookie);
    }

    [Fact]
    public async Task A_missing_expires_in_falls_back_to_the_default_access_token_lifetime()
    {
        var time = new FakeTimeProvider(Now);
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.TokenEndpoint = FakePitchly.Respond(200, "application/json", $$"""{"access_token":"{{FakePitchly.AccessToken}}","refresh_token":"{{FakePitchly.RefreshToken}}"}""");
        await using var app = await SignInApp.StartAsync(pitchly, options => options.DefaultAccessTokenLifetime = TimeSpan.FromMinutes(42), time);

        using var callback = await app.SignInAsync();

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var record = await app.Store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), TestContext.Current.CancellationToken);
        Assert.Equal(Now.AddMinutes(42), record?.ExpiresAt);
        Assert.Null(record?.Scope);
    }

    [Fact]
    public async Task Sign_out_removes_the_stored_tokens_and_the_cookie()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        using var callback = await app.SignInAsync();
        var key = PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId);
        Assert.NotNull(await app.Store.GetAsync(key, TestContext.Current.CancellationToken));

        using var signOut = await app.Client.GetAsync("/signout", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
        Assert.Null(await app.Store.GetAsync(key, TestContext.Current.CancellationToken));
        Assert.Null(app.AuthenticationCookie);
    }

    [Fact]
    public async Task Sign_out_clears_the_cookie_and_logs_the_kept_tokens_when_the_token_store_is_unreachable()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var store = new OutageTokenStore();
        await using var app = await SignInApp.StartAsync(pitchly, configureServices: services => services.AddSingleton<IPitchlyTokenStore>(store));
        using var callback = await app.SignInAsync();
        Assert.NotNull(app.AuthenticationCookie);
        store.Down = true;

        using var signOut = await app.Client.GetAsync("/signout", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
        Assert.Null(app.AuthenticationCookie);
        var kept = Assert.Single(app.Logs.GetSnapshot(), record => record.Id.Id == 1005);
        Assert.Equal(LogLevel.Warning, kept.Level);
        Assert.Contains(FakePitchly.PersonId, kept.Message, StringComparison.Ordinal);
        Assert.IsType<PitchlyTokenStoreUnavailableException>(kept.Exception);
        Assert.All(app.Logs.GetSnapshot(), record => Assert.DoesNotContain(FakePitchly.RefreshToken, record.Message, StringComparison.Ordinal));

        store.Down = false;
        using var me = await app.Client.GetAsync("/me", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Theory]
    [InlineData("handled")]
    [InlineData("skipped")]
    [InlineData("failed")]
    public async Task A_ticket_the_app_rejects_in_OnTicketReceived_leaves_no_tokens_in_the_store(string rejection)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly, options => options.Events.OnTicketReceived = context =>
        {
            switch (rejection)
            {
                case "handled":
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    context.HandleResponse();
                    break;
                case "skipped":
                    context.SkipHandler();
                    break;
                default:
                    context.Fail("This organization may not use the app.");
                    break;
            }

            return Task.CompletedTask;
        });

        using var callback = await app.SignInAsync();

        Assert.Single(pitchly.TokenRequests);
        Assert.Null(await app.Store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), TestContext.Current.CancellationToken));
        if (rejection != "failed")
        {
            // ASP.NET Core still signs in a ticket failed in OnTicketReceived (only handled or skipped stop it); its
            // tokens are kept out of the store all the same, so a Pitchly call asks that user to sign in again.
            Assert.Null(app.AuthenticationCookie);
        }
    }

    [Fact]
    public async Task Tokens_are_stored_after_OnTicketReceived_accepts_the_ticket_under_the_identity_querys_key()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        PitchlyTokenRecord? storedDuringTheEvent = null;
        await using var app = await SignInApp.StartAsync(pitchly, options => options.Events.OnTicketReceived = async context =>
        {
            var store = context.HttpContext.RequestServices.GetRequiredService<IPitchlyTokenStore>();
            storedDuringTheEvent = await store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), context.HttpContext.RequestAborted);
            context.Principal!.AddIdentity(new ClaimsIdentity([new Claim("app:role", "reader")]));
        });

        using var callback = await app.SignInAsync();

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Null(storedDuringTheEvent);
        var record = await app.Store.GetAsync(PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId), TestContext.Current.CancellationToken);
        Assert.Equal(FakePitchly.RefreshToken, record?.RefreshToken);
        Assert.Contains(app.Logs.GetSnapshot(), log => log.Id.Id == 1000);
    }

    [Fact]
    public async Task Declined_consent_leads_to_the_access_denied_path_without_a_code_exchange()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly, options => options.AccessDeniedPath = "/denied");

        var authorize = await app.ChallengeAsync();
        using var callback = await app.CallbackAsync($"error=access_denied&state={Uri.EscapeDataString(authorize["state"]!)}");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/denied", callback.Headers.Location?.AbsolutePath ?? callback.Headers.Location?.OriginalString.Split('?')[0]);
        Assert.Empty(pitchly.TokenRequests);
        Assert.Null(app.AuthenticationCookie);
    }

    [Fact]
    public async Task Declined_consent_without_an_access_denied_path_is_a_remote_failure()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);

        var authorize = await app.ChallengeAsync();
        using var callback = await app.CallbackAsync($"error=access_denied&state={Uri.EscapeDataString(authorize["state"]!)}");

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Contains("Access was denied", await callback.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(pitchly.TokenRequests);
    }
}

using System.Net;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class AuthorizeEndpointTests
{
    [Fact]
    public async Task Consent_page_offers_every_seeded_person_with_stable_ids()
    {
        await using var host = await StartAsync();

        var html = await host.Http.GetStringAsync(AuthorizeQuery(), Cancellation);

        Assert.Contains("id=\"approve\"", html, StringComparison.Ordinal);
        Assert.Contains("id=\"deny\"", html, StringComparison.Ordinal);
        foreach (var user in PitchlyEmulatorDefaults.Users)
        {
            Assert.Contains($"value=\"{user.PersonId}\"", html, StringComparison.Ordinal);
            Assert.Contains($">{user.Name}</label>", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Approving_as_a_person_issues_a_code_for_that_person()
    {
        await using var host = await StartAsync();

        var tokens = await host.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);

        var identity = await host.GraphQLAsync("{ organization { id } viewer { person { id email } } }", bearer: tokens["access_token"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, identity["data"]!["organization"]!["id"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.AlanTuringPersonId, identity["data"]!["viewer"]!["person"]!["id"]!.GetValue<string>());
        Assert.Equal(PitchlyEmulatorDefaults.AlanTuringEmail, identity["data"]!["viewer"]!["person"]!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task Denying_redirects_with_access_denied_and_the_state()
    {
        await using var host = await StartAsync();

        using var response = await host.DecideAsync(AuthorizeQuery(), "deny");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith(RedirectUri, response.Headers.Location!.ToString(), StringComparison.Ordinal);
        var query = QueryOf(response.Headers.Location!);
        Assert.Equal("access_denied", query["error"]);
        Assert.Equal("state-123", query["state"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Fact]
    public async Task Unknown_client_gets_an_error_page_not_a_redirect()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(AuthorizeQuery(clientId: "appNoSuchClient000001"), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task App_Secret_sent_as_App_ID_is_named_as_such_without_being_echoed()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(AuthorizeQuery(clientId: PitchlyEmulatorDefaults.ClientSecret), Cancellation);
        var html = await response.Content.ReadAsStringAsync(Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("App Secret", html, StringComparison.Ordinal);
        Assert.DoesNotContain(PitchlyEmulatorDefaults.ClientSecret, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirect_uri_must_match_a_registered_one_exactly()
    {
        await using var host = await StartAsync(o => o.Clients.Add(new PitchlyEmulatorClient
        {
            ClientId = "appRegisteredClient01",
            ClientSecret = "plys_RegisteredClientSecretRegisteredClientSecr",
            RedirectUris = { "https://app.example/signin-pitchly", "https://app.example/other" },
        }));

        using var exact = await host.Http.GetAsync(AuthorizeQuery("https://app.example/signin-pitchly", clientId: "appRegisteredClient01"), Cancellation);
        using var trailingSlash = await host.Http.GetAsync(AuthorizeQuery("https://app.example/signin-pitchly/", clientId: "appRegisteredClient01"), Cancellation);
        using var loopback = await host.Http.GetAsync(AuthorizeQuery(RedirectUri, clientId: "appRegisteredClient01"), Cancellation);

        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, trailingSlash.StatusCode);
        Assert.Null(trailingSlash.Headers.Location);
        Assert.Equal(HttpStatusCode.BadRequest, loopback.StatusCode);
    }

    [Fact]
    public async Task Omitted_redirect_uri_falls_back_to_the_first_registered_one()
    {
        await using var host = await StartAsync(o =>
        {
            o.AutoApprove = true;
            o.Clients.Add(new PitchlyEmulatorClient
            {
                ClientId = "appRegisteredClient01",
                ClientSecret = "plys_RegisteredClientSecretRegisteredClientSecr",
                RedirectUris = { "https://app.example/signin-pitchly", "https://app.example/other" },
            });
        });

        using var response = await host.Http.GetAsync(AuthorizeQuery(redirectUri: null, clientId: "appRegisteredClient01"), Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("https://app.example/signin-pitchly?code=", response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:49152/signin-pitchly", HttpStatusCode.OK)]
    [InlineData("http://localhost:8080/callback", HttpStatusCode.OK)]
    [InlineData("https://127.0.0.1:5001/signin-pitchly", HttpStatusCode.BadRequest)]
    [InlineData("http://app.example/signin-pitchly", HttpStatusCode.BadRequest)]
    public async Task Default_client_accepts_any_http_loopback_redirect_uri_only(string redirectUri, HttpStatusCode expected)
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(AuthorizeQuery(redirectUri), Cancellation);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("S512", "invalid_request")]
    [InlineData("s256", "invalid_request")]
    public async Task Unknown_code_challenge_method_redirects_with_invalid_request(string method, string expectedError)
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(AuthorizeQuery(challenge: CreatePkce().Challenge, method: method), Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expectedError, QueryOf(response.Headers.Location!)["error"]);
    }

    [Fact]
    public async Task Unsupported_response_type_redirects_with_an_error()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(AuthorizeQuery(responseType: "token"), Cancellation);

        Assert.Equal("unsupported_response_type", QueryOf(response.Headers.Location!)["error"]);
    }

    [Fact]
    public async Task Consent_post_that_was_not_signed_by_the_page_is_refused()
    {
        await using var host = await StartAsync();
        var form = new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["redirect_uri"] = "http://127.0.0.1:6666/attacker",
            ["state"] = "x",
            ["person_id"] = PitchlyEmulatorDefaults.AdaLovelacePersonId,
            ["decision"] = "approve",
            ["request_signature"] = "99999999999.AAAA",
        };

        using var response = await host.Http.PostAsync(PitchlyEmulatorDefaults.AuthorizationPath, new FormUrlEncodedContent(form), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Auto_approve_signs_in_the_first_seeded_user_or_the_named_one()
    {
        await using var host = await StartAsync(o => o.AutoApprove = true);

        using var first = await host.Http.GetAsync(AuthorizeQuery(), Cancellation);
        using var named = await host.Http.GetAsync(AuthorizeQuery() + "&person_id=" + PitchlyEmulatorDefaults.GraceHopperPersonId, Cancellation);
        var firstTokens = await host.RedeemAsync(QueryOf(first.Headers.Location!)["code"]);
        var namedTokens = await host.RedeemAsync(QueryOf(named.Headers.Location!)["code"]);

        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await PersonOf(host, firstTokens["access_token"]!.GetValue<string>()));
        Assert.Equal(PitchlyEmulatorDefaults.GraceHopperPersonId, await PersonOf(host, namedTokens["access_token"]!.GetValue<string>()));

        static async Task<string> PersonOf(EmulatorTestHost host, string accessToken) =>
            (await host.GraphQLAsync("{ viewer { person { id } } }", bearer: accessToken))["data"]!["viewer"]!["person"]!["id"]!.GetValue<string>();
    }
}

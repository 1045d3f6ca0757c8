using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>The emulator mapped into an in-process TestServer app, with helpers that speak its protocols.</summary>
public sealed partial class EmulatorTestHost : IAsyncDisposable
{
    public const string RedirectUri = "http://127.0.0.1:5055/signin-pitchly";

    private readonly WebApplication _app;

    private EmulatorTestHost(WebApplication app, HttpClient http)
    {
        _app = app;
        Http = http;
        Emulator = app.Services.GetRequiredService<PitchlyEmulator>();
    }

    public HttpClient Http { get; }

    public PitchlyEmulator Emulator { get; }

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<EmulatorTestHost> StartAsync(Action<PitchlyEmulatorOptions>? configure = null, TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        builder.Services.AddPitchlyEmulator(configure);
        var app = builder.Build();
        app.MapPitchlyEmulator();
        await app.StartAsync(Cancellation);
        return new EmulatorTestHost(app, app.GetTestClient());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
    }

    public static string AuthorizeQuery(
        string? redirectUri = RedirectUri,
        string? challenge = null,
        string? method = null,
        string clientId = PitchlyEmulatorDefaults.ClientId,
        string state = "state-123",
        string responseType = "code")
    {
        var parameters = new Dictionary<string, string?>
        {
            ["response_type"] = responseType,
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri,
            ["state"] = state,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = method,
        };
        return PitchlyEmulatorDefaults.AuthorizationPath + "?" + string.Join('&', parameters
            .Where(p => p.Value is not null)
            .Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}"));
    }

    /// <summary>Loads the consent page for a query and posts its form back with a decision, as a browser would.</summary>
    public async Task<HttpResponseMessage> DecideAsync(string authorizeQuery, string decision, string? personId = null)
    {
        using var page = await Http.GetAsync(authorizeQuery, Cancellation);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Cancellation);
        var form = HiddenField().Matches(html).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        form["decision"] = decision;
        form["person_id"] = personId ?? PitchlyEmulatorDefaults.AdaLovelacePersonId;
        return await Http.PostAsync(PitchlyEmulatorDefaults.AuthorizationPath, new FormUrlEncodedContent(form), Cancellation);
    }

    /// <summary>Approves on the consent page and returns the code from the redirect.</summary>
    public async Task<string> AuthorizeAsync(string? personId = null, string? challenge = null, string? method = null, string redirectUri = RedirectUri)
    {
        using var response = await DecideAsync(AuthorizeQuery(redirectUri, challenge, method), "approve", personId);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = QueryOf(response.Headers.Location!);
        Assert.Equal("state-123", query["state"]);
        return query["code"];
    }

    public Task<HttpResponseMessage> TokenAsync(params (string Name, string Value)[] parameters) =>
        TokenAsync(PitchlyEmulatorDefaults.ClientId, PitchlyEmulatorDefaults.ClientSecret, parameters);

    public Task<HttpResponseMessage> TokenAsync(string clientId, string clientSecret, params (string Name, string Value)[] parameters)
    {
        var form = parameters.Select(p => new KeyValuePair<string, string>(p.Name, p.Value)).ToList();
        form.Add(new("client_id", clientId));
        form.Add(new("client_secret", clientSecret));
        return Http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(form), Cancellation);
    }

    public async Task<JsonObject> TokenJsonAsync(HttpStatusCode expectedStatus, params (string Name, string Value)[] parameters)
    {
        using var response = await TokenAsync(parameters);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(expectedStatus == response.StatusCode, $"Expected {expectedStatus}, got {response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public Task<JsonObject> RedeemAsync(string code, string? verifier = null, string redirectUri = RedirectUri, HttpStatusCode expectedStatus = HttpStatusCode.OK)
    {
        var parameters = new List<(string, string)> { ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectUri) };
        if (verifier is not null)
        {
            parameters.Add(("code_verifier", verifier));
        }

        return TokenJsonAsync(expectedStatus, [.. parameters]);
    }

    public Task<JsonObject> RefreshAsync(string refreshToken, HttpStatusCode expectedStatus = HttpStatusCode.OK) =>
        TokenJsonAsync(expectedStatus, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    /// <summary>Signs a person in through the consent page and the code exchange; returns the token response.</summary>
    public async Task<JsonObject> SignInAsync(string? personId = null)
    {
        var (verifier, challenge) = CreatePkce();
        var code = await AuthorizeAsync(personId, challenge, "S256");
        return await RedeemAsync(code, verifier);
    }

    public async Task<JsonObject> GraphQLAsync(string query, object? variables = null, string? bearer = null, HttpStatusCode expectedStatus = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PitchlyEmulatorDefaults.GraphQLPath)
        {
            Content = JsonContent.Create(new { query, variables }),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await Http.SendAsync(request, Cancellation);
        var body = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(expectedStatus == response.StatusCode, $"Expected {expectedStatus}, got {response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public static (string Verifier, string Challenge) CreatePkce()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static Dictionary<string, string> QueryOf(Uri location) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location.Query).ToDictionary(p => p.Key, p => p.Value.ToString());

    public static string? ErrorCode(JsonObject response) => response["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();
}

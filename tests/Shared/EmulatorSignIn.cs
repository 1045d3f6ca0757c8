using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Pitchly.AspNetCore.Emulator;
using Xunit;

namespace Pitchly.AspNetCore.TestSupport;

/// <summary>Signs people in at a running emulator the way the sign-in handler does, for tests that start signed in.</summary>
public static class EmulatorSignIn
{
    /// <summary>The loopback callback the emulator's default client accepts.</summary>
    public const string RedirectUri = "http://127.0.0.1:5055/signin-pitchly";

    /// <summary>
    /// Signs <paramref name="personId"/> in (authorization code grant, consent approved) and returns the person's key
    /// and the tokens as sign-in would store them, their expiry counted from <paramref name="now"/> (the wall clock
    /// when null).
    /// </summary>
    public static async Task<(PitchlyTokenKey Key, PitchlyTokenRecord Record)> SignInAsync(PitchlyEmulatorServer server, string personId, DateTimeOffset? now = null)
    {
        var cancellation = TestContext.Current.CancellationToken;
        var person = server.Emulator.Users.Single(u => u.PersonId == personId);
        server.Emulator.Configure(o => o.AutoApprove = true);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        var authorize = $"{PitchlyEmulatorDefaults.AuthorizationPath}?response_type=code&client_id={PitchlyEmulatorDefaults.ClientId}&redirect_uri={Uri.EscapeDataString(RedirectUri)}&state=s&person_id={personId}";
        using var redirect = await http.GetAsync(authorize, cancellation);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        var code = QueryHelpers.ParseQuery(redirect.Headers.Location!.Query)["code"].ToString();
        using var tokenResponse = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), cancellation);
        tokenResponse.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(cancellation));
        var issuedAt = now ?? DateTimeOffset.UtcNow;
        var record = new PitchlyTokenRecord
        {
            AccessToken = json.RootElement.GetProperty("access_token").GetString()!,
            RefreshToken = json.RootElement.GetProperty("refresh_token").GetString(),
            ExpiresAt = issuedAt.AddSeconds(json.RootElement.GetProperty("expires_in").GetInt64()),
            IssuedAt = issuedAt,
            OrganizationId = person.OrganizationId,
        };
        return (PitchlyTokenKey.ForUser(person.OrganizationId, personId), record);
    }

    /// <summary>Signs <paramref name="personId"/> in and stores the tokens in <paramref name="store"/>; returns the stored record's key.</summary>
    public static async Task<PitchlyTokenKey> SignInAndStoreAsync(PitchlyEmulatorServer server, IPitchlyTokenStore store, string personId)
    {
        var (key, record) = await SignInAsync(server, personId);
        await store.SetAsync(key, record, TestContext.Current.CancellationToken);
        return key;
    }
}

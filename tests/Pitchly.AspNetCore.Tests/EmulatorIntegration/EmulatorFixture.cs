using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Xunit;

namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

/// <summary>A real emulator on Kestrel and an application's services pointed at it.</summary>
public sealed class EmulatorFixture : IAsyncDisposable
{
    public const string RedirectUri = "http://127.0.0.1:5055/signin-pitchly";

    private EmulatorFixture(PitchlyEmulatorServer server, ServiceProvider services)
    {
        Server = server;
        Services = services;
    }

    public PitchlyEmulatorServer Server { get; }

    public PitchlyEmulator Emulator => Server.Emulator;

    public ServiceProvider Services { get; }

    public IPitchlyGraphQLClient GraphQL => Services.GetRequiredService<IPitchlyGraphQLClient>();

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<EmulatorFixture> StartAsync(
        Action<PitchlyEmulatorOptions>? emulator = null,
        Action<IServiceCollection>? services = null,
        Action<PitchlyTokenManagementOptions>? tokenManagement = null)
    {
        var server = await PitchlyEmulatorServer.StartAsync(emulator, Cancellation);
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(server.ClientConfiguration).Build());
        collection.AddLogging();
        collection.AddPitchlyTokenManagement(o =>
        {
            // Retries of an unreachable endpoint are not under test here; keep failures prompt.
            o.TokenEndpointRetryTimeout = TimeSpan.Zero;
            tokenManagement?.Invoke(o);
        });
        services?.Invoke(collection);
        return new EmulatorFixture(server, collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    /// <summary>Signs a person in at the emulator (authorization code grant) and stores the tokens as sign-in would.</summary>
    public async Task<PitchlyTokenKey> SignInAsync(string personId)
    {
        var person = Emulator.Users.Single(u => u.PersonId == personId);
        Emulator.Configure(o => o.AutoApprove = true);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Server.BaseAddress };
        var authorize = $"{PitchlyEmulatorDefaults.AuthorizationPath}?response_type=code&client_id={PitchlyEmulatorDefaults.ClientId}&redirect_uri={Uri.EscapeDataString(RedirectUri)}&state=s&person_id={personId}";
        using var redirect = await http.GetAsync(authorize, Cancellation);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(redirect.Headers.Location!.Query)["code"].ToString();
        using var tokenResponse = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), Cancellation);
        tokenResponse.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync(Cancellation));
        var key = PitchlyTokenKey.ForUser(person.OrganizationId, personId);
        var now = DateTimeOffset.UtcNow;
        await Services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, new PitchlyTokenRecord
        {
            AccessToken = json.RootElement.GetProperty("access_token").GetString()!,
            RefreshToken = json.RootElement.GetProperty("refresh_token").GetString(),
            ExpiresAt = now.AddSeconds(json.RootElement.GetProperty("expires_in").GetInt64()),
            IssuedAt = now,
            OrganizationId = person.OrganizationId,
        }, Cancellation);
        return key;
    }

    /// <summary>Makes <paramref name="key"/>'s person the signed-in user of the current async flow, as a request would.</summary>
    public void ActAs(PitchlyTokenKey key) =>
        Services.GetRequiredService<IHttpContextAccessor>().HttpContext = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, key.PersonId!), new Claim(PitchlyClaimTypes.OrganizationId, key.OrganizationId)],
                "Test")),
        };

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
    }
}

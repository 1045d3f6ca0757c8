using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// An application instance on real Kestrel (127.0.0.1) that signs people in at an emulator and keeps their tokens in a
/// real Redis, as a web-farm app would: <c>/login</c>, <c>/me</c> (Pitchly's GraphQL API as the signed-in person),
/// <c>/signout</c> and <c>/signout-everywhere</c>, behind <c>UsePitchlySignInRequiredChallenge()</c>; and a browser
/// (cookies, no automatic redirects) that signs in to it.
/// </summary>
internal static class SignedInWebApp
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static async Task<WebApplication> StartAsync(PitchlyEmulatorServer emulator, RedisServer redis, string prefix, DirectoryInfo keyRing)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(emulator.ClientConfiguration);
        builder.Services.AddDataProtection().SetApplicationName("pitchly-session-farm-test").PersistKeysToFileSystem(keyRing);
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = PitchlyAuthenticationDefaults.AuthenticationScheme;
            })
            .AddCookie()
            .AddPitchly(o => o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        builder.Services.AddAuthorization();
        builder.Services.AddPitchlyTokenManagement().AddRedis(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = prefix;
            o.ConnectTimeout = TimeSpan.FromSeconds(1);
            o.OperationTimeout = TimeSpan.FromSeconds(1);
        });
        builder.Services.AddPitchlyGraphQLClient();

        var app = builder.Build();
        app.UseAuthentication();
        app.UsePitchlySignInRequiredChallenge();
        app.UseAuthorization();
        app.MapGet("/login", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/" }));
        app.MapGet("/me", async (IPitchlyGraphQLClient graphQL, CancellationToken cancellationToken) =>
            Results.Text((await graphQL.SendAsync<ViewerData>(new("{ viewer { person { id } } }"), cancellationToken)).GetDataOrThrow().Viewer.Person.Id))
            .RequireAuthorization();
        app.MapGet("/signout", async (HttpContext context) =>
        {
            await context.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Ok();
        });
        app.MapGet("/signout-everywhere", async (HttpContext context) =>
        {
            await context.SignOutOfPitchlyEverywhereAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Ok();
        });
        await app.StartAsync(Cancel);
        return app;
    }

    /// <summary>A browser: keeps cookies, follows no redirect.</summary>
    public static (HttpClient Client, CookieContainer Cookies) Browser()
    {
        var cookies = new CookieContainer();
        return (new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }), cookies);
    }

    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    /// <summary>The challenge, the emulator's approval (auto-approved), the callback with the code.</summary>
    public static async Task SignInAsync(HttpClient browser, Uri app)
    {
        using var challenge = await browser.GetAsync(new Uri(app, "/login"), Cancel);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        using var approval = await browser.GetAsync(challenge.Headers.Location, Cancel);
        Assert.Equal(HttpStatusCode.Redirect, approval.StatusCode);
        using var callback = await browser.GetAsync(approval.Headers.Location, Cancel);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
    }
}

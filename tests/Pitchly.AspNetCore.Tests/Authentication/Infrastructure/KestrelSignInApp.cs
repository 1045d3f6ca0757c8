using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>
/// An app with cookie authentication and "Sign in with Pitchly" on real Kestrel at 127.0.0.1, configured only through
/// the given <c>Pitchly:*</c> keys, and a browser-like client that keeps cookies and follows redirects.
/// </summary>
public sealed class KestrelSignInApp : IAsyncDisposable
{
    public const string FailurePrefix = SignInAppSetup.FailurePrefix;

    private readonly WebApplication _app;

    private KestrelSignInApp(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Cookies = new CookieContainer();
        Browser = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = true }) { BaseAddress = address };
    }

    public Uri Address { get; }

    public CookieContainer Cookies { get; }

    /// <summary>Gets a client that behaves like a browser: keeps cookies and follows redirects.</summary>
    public HttpClient Browser { get; }

    public IPitchlyTokenStore Store => _app.Services.GetRequiredService<IPitchlyTokenStore>();

    public static async Task<KestrelSignInApp> StartAsync(IEnumerable<KeyValuePair<string, string?>> configuration, Action<PitchlyAuthenticationOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(configuration);
        SignInAppSetup.AddPitchlySignIn(builder.Services, options =>
        {
            // Plain http on loopback: the correlation cookie must not demand https to come back.
            options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            configure?.Invoke(options);
        });

        var app = builder.Build();
        SignInAppSetup.MapSignInPages(app);
        app.MapGet("/me", (HttpContext context) => context.User.Identity?.IsAuthenticated == true
            ? Results.Text(string.Join('\n', context.User.Claims.Select(claim => $"{claim.Type}={claim.Value}")))
            : Results.Unauthorized());

        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new KestrelSignInApp(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Browser.Dispose();
        await _app.DisposeAsync();
    }
}

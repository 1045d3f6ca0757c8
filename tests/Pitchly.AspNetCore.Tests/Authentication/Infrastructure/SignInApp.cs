using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Primitives;

namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>
/// An app with cookie authentication and "Sign in with Pitchly" on a TestServer, configured through the
/// <c>Pitchly:*</c> keys to use <see cref="FakePitchly"/>. Remote failures are answered with their message.
/// </summary>
public sealed class SignInApp : IAsyncDisposable
{
    public const string FailurePrefix = SignInAppSetup.FailurePrefix;
    private static readonly Uri AppAddress = new("https://app.test/");

    private readonly WebApplication _app;
    private readonly CookieContainerHandler _cookies;

    private SignInApp(WebApplication app, CookieContainerHandler cookies)
    {
        _app = app;
        _cookies = cookies;
        Client = new HttpClient(cookies) { BaseAddress = AppAddress };
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public IPitchlyTokenStore Store => Services.GetRequiredService<IPitchlyTokenStore>();

    /// <summary>Gets every log record the app wrote (kept in memory, never printed).</summary>
    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    public static async Task<SignInApp> StartAsync(FakePitchly pitchly, Action<PitchlyAuthenticationOptions>? configure = null, TimeProvider? timeProvider = null, Action<IServiceCollection>? configureServices = null, Action<WebApplication>? configureApp = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Trace);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pitchly:ClientId"] = FakePitchly.ClientId,
            ["Pitchly:ClientSecret"] = FakePitchly.ClientSecret,
            ["Pitchly:AuthorizationEndpoint"] = $"{FakePitchly.Origin}/oauth/authorize",
            ["Pitchly:TokenEndpoint"] = $"{FakePitchly.Origin}/api/oauth/token",
            ["Pitchly:GraphQLEndpoint"] = $"{FakePitchly.Origin}/graphql",
        });
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        SignInAppSetup.AddPitchlySignIn(builder.Services, options =>
        {
            options.BackchannelHttpHandler = pitchly.CreateHandler();
            configure?.Invoke(options);
        });
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        SignInAppSetup.MapSignInPages(app);
        app.MapGet("/me", (HttpContext context) => context.User.Identity?.IsAuthenticated == true
            ? Results.Json(context.User.Claims.Select(claim => new ClaimView(claim.Type, claim.Value, claim.Issuer)))
            : Results.Unauthorized());
        app.MapGet("/signout", async (HttpContext context) =>
        {
            await context.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Ok();
        });
        configureApp?.Invoke(app);

        app.MapGet("/signout-everywhere", async (HttpContext context) =>
        {
            await context.SignOutOfPitchlyEverywhereAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Ok();
        });
        app.MapGet("/private", (HttpContext context) => context.User.Identity?.IsAuthenticated == true
            ? Results.Text(context.User.FindFirst(PitchlyClaimTypes.PersonId)?.Value ?? string.Empty)
            : Results.Challenge());

        await app.StartAsync(TestContext.Current.CancellationToken);
        return new SignInApp(app, new CookieContainerHandler(app.GetTestServer().CreateHandler()));
    }

    /// <summary>Opens another browser on the app: a client with cookies of its own.</summary>
    public (HttpClient Client, CookieContainer Cookies) OpenBrowser()
    {
        var cookies = new CookieContainerHandler(_app.GetTestServer().CreateHandler());
        return (new HttpClient(cookies) { BaseAddress = AppAddress }, cookies.Container);
    }

    /// <summary>Gets the authentication cookie's raw value in <paramref name="cookies"/>.</summary>
    public static string? AuthenticationCookieIn(CookieContainer cookies) =>
        cookies.GetCookies(AppAddress)[".AspNetCore." + CookieAuthenticationDefaults.AuthenticationScheme]?.Value;

    /// <summary>Sends <paramref name="cookie"/> as the authentication cookie from a browser that has no other cookie.</summary>
    public async Task<HttpResponseMessage> ReplayAsync(string cookie, string path)
    {
        using var client = _app.GetTestServer().CreateClient();
        client.BaseAddress = AppAddress;
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", $".AspNetCore.{CookieAuthenticationDefaults.AuthenticationScheme}={cookie}");
        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>Starts a sign-in and returns the query of the authorization request it redirected to.</summary>
    public async Task<Dictionary<string, StringValues>> ChallengeAsync(string path = "/login", HttpClient? browser = null)
    {
        // An absolute URI, so that a path such as "//host/x" reaches the app as its path.
        using var response = await (browser ?? Client).GetAsync(new Uri(AppAddress.GetLeftPart(UriPartial.Authority) + path), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal($"{FakePitchly.Origin}/oauth/authorize", location.GetLeftPart(UriPartial.Path));
        return QueryHelpers.ParseQuery(location.Query);
    }

    /// <summary>Returns to the app the way Pitchly's redirect would.</summary>
    public Task<HttpResponseMessage> CallbackAsync(string query, HttpClient? browser = null) =>
        (browser ?? Client).GetAsync($"/signin-pitchly?{query}", TestContext.Current.CancellationToken);

    /// <summary>Runs a sign-in and returns the callback's response.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string code = "code-that-must-never-leak", HttpClient? browser = null)
    {
        var authorize = await ChallengeAsync(browser: browser);
        return await CallbackAsync($"code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(authorize["state"]!)}", browser);
    }

    public async Task<IReadOnlyList<ClaimView>> GetClaimsAsync()
    {
        using var response = await Client.GetAsync("/me", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return JsonSerializer.Deserialize<List<ClaimView>>(body, JsonSerializerOptions.Web)!;
    }

    /// <summary>Gets the authentication cookie's raw value, as the browser holds it.</summary>
    public string? AuthenticationCookie =>
        _cookies.Container.GetCookies(AppAddress)[".AspNetCore." + CookieAuthenticationDefaults.AuthenticationScheme]?.Value;

    /// <summary>Decrypts the authentication cookie with the app's own ticket format.</summary>
    public AuthenticationTicket? ReadAuthenticationTicket()
    {
        var options = Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        return AuthenticationCookie is { } cookie ? options.TicketDataFormat.Unprotect(cookie) : null;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    public sealed record ClaimView(string Type, string Value, string Issuer);
}

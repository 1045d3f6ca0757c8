using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;
using Pitchly.AspNetCore.Tests.EmulatorIntegration;

namespace Pitchly.AspNetCore.Tests.Configuration;

/// <summary>
/// <c>AddPitchly("AnotherScheme", o =&gt; { o.ClientId = …; o.ClientSecret = …; })</c> with no credentials in
/// configuration: the user signs in through the emulator on Kestrel, and the app keeps calling Pitchly as the user
/// after the access token expired, because refreshes use the credentials of the scheme that signed the user in.
/// </summary>
public sealed class AnotherSchemeRefreshTests
{
    private const string Scheme = "AnotherScheme";

    [Fact]
    public async Task Credentials_given_in_code_to_a_scheme_of_another_name_refresh_after_expiry()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o =>
        {
            o.AutoApprove = true;
            o.AccessTokenLifetime = TimeSpan.FromSeconds(2);
        }, cancellationToken);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // Endpoints only: the credentials are given in code, to a scheme that is not named "Pitchly".
        builder.Configuration.AddInMemoryCollection(emulator.ClientConfiguration.Where(entry => !entry.Key.StartsWith("Pitchly:Client", StringComparison.Ordinal)));
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = Scheme;
            })
            .AddCookie()
            .AddPitchly(Scheme, o =>
            {
                o.ClientId = PitchlyEmulatorDefaults.ClientId;
                o.ClientSecret = PitchlyEmulatorDefaults.ClientSecret;
                o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            });
        builder.Services.AddPitchlyGraphQLClient();
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/login", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/me" }, [Scheme]));
        app.MapGet("/me", async (IPitchlyGraphQLClient pitchly, CancellationToken cancel) =>
        {
            var data = (await pitchly.SendAsync<ViewerData>(new("{ viewer { person { id name } } }"), cancel)).GetDataOrThrow();
            return Results.Text(data.Viewer.Person!.Id);
        }).RequireAuthorization();
        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = address };

        var trail = new List<string>();
        using (var signedIn = await FollowAsync(browser, new Uri(address, "/login"), trail, cancellationToken))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.OK, string.Join(" → ", trail));
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await signedIn.Content.ReadAsStringAsync(cancellationToken));
        }

        for (var expiry = 0; expiry < 2; expiry++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2.5), cancellationToken);
            using var me = await browser.GetAsync("/me", cancellationToken);
            Assert.True(me.StatusCode == HttpStatusCode.OK, $"{me.StatusCode} {me.Headers.Location}");
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await me.Content.ReadAsStringAsync(cancellationToken));
        }

        var stats = emulator.Emulator.GetStats();
        Assert.True(stats.RefreshGrants >= 2, $"expected a refresh after each expiry, saw {stats.RefreshGrants}");
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(PitchlyEmulatorDefaults.ClientId, app.Services.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value.ClientId);
    }

    /// <summary>Follows redirects by hand (a browser would), keeping cookies, and notes each step.</summary>
    private static async Task<HttpResponseMessage> FollowAsync(HttpClient browser, Uri uri, List<string> trail, CancellationToken cancellationToken)
    {
        for (var hop = 0; hop < 10; hop++)
        {
            var response = await browser.GetAsync(uri, cancellationToken);
            trail.Add($"{uri.AbsolutePath} {(int)response.StatusCode}");
            if (response.Headers.Location is not { } location)
            {
                return response;
            }

            uri = new Uri(uri, location);
            response.Dispose();
        }

        throw new InvalidOperationException("Too many redirects: " + string.Join(" → ", trail));
    }
}

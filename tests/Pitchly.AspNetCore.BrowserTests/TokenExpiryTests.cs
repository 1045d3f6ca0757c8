using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.Mvc.Controllers;
using Pitchly.Samples.RazorPages.Pages;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// With access tokens living two seconds, a user who keeps reloading <c>/data</c> for ten seconds crosses several
/// expiries: every load must still show their data, silently refreshed, without ever spending a refresh token twice;
/// signing out then forgets the tokens.
/// </summary>
public sealed class TokenExpiryTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private static readonly TimeSpan ReloadFor = TimeSpan.FromSeconds(10);

    private static readonly Dictionary<string, string> ShortLivedTokens = new()
    {
        ["Pitchly:Emulator:AccessTokenLifetime"] = "00:00:02",
    };

    [Fact]
    public async Task Mvc_sample_keeps_showing_data_across_access_token_expiries()
    {
        await using var app = await SampleApp.StartAsync(typeof(HomeController).Assembly, ShortLivedTokens);
        await KeepsShowingDataAcrossExpiriesAsync(app);
    }

    [Fact]
    public async Task Razor_Pages_sample_keeps_showing_data_across_access_token_expiries()
    {
        await using var app = await SampleApp.StartAsync(typeof(DataModel).Assembly, ShortLivedTokens);
        await KeepsShowingDataAcrossExpiriesAsync(app);
    }

    [Fact]
    public async Task Mvc_sample_runs_on_the_legacy_API_by_configuration_alone_across_token_expiries()
    {
        // The legacy v2 API: the token travels as the accessToken GraphQL variable and an invalid one is reported as
        // token-invalid. Nothing but configuration changes.
        await using var app = await SampleApp.StartAsync(typeof(HomeController).Assembly, new Dictionary<string, string>(ShortLivedTokens)
        {
            ["Pitchly:Emulator:ErrorStyle"] = "Legacy",
            ["Pitchly:AccessToken:Placement"] = "GraphQLVariable",
        });
        await KeepsShowingDataAcrossExpiriesAsync(app, invalidateEarly: true);

        var emulator = app.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator;
        string[] sampleOperations = ["Organization", "Databases", "Workspaces"];
        var calls = emulator.GraphQLRequests.Where(request => sampleOperations.Contains(request.OperationName)).ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, call => Assert.Equal(PitchlyEmulatorTokenPlacement.Variable, call.Placement));
        Assert.Contains(calls, call => !call.Authenticated);
    }

    // invalidateEarly: Pitchly also kills the live token before every load, so calls meet the invalid-token answer and
    // are replayed (a single kill could fall on a token the manager was about to renew anyway, and go unnoticed).
    private async Task KeepsShowingDataAcrossExpiriesAsync(SampleApp app, bool invalidateEarly = false)
    {
        await Page.GotoAsync(app.Url("/account/signin"));
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");
        await Expect(Page).ToHaveURLAsync(app.Url("/me"));
        await Expect(Page.Locator("#name")).ToHaveTextAsync("Grace Hopper");
        await Expect(Page.Locator("#organization")).ToContainTextAsync("Acme Analytics");

        var loads = 0;
        for (var elapsed = Stopwatch.StartNew(); elapsed.Elapsed < ReloadFor; loads++)
        {
            if (invalidateEarly)
            {
                app.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.GraceHopperPersonId);
            }

            await Page.GotoAsync(app.Url("/data"));
            Assert.Equal(app.Url("/data"), Page.Url);
            await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeDatabaseName);
            await Expect(Page.Locator("#problems")).ToHaveCountAsync(0);
            await Task.Delay(TimeSpan.FromMilliseconds(400), TestContext.Current.CancellationToken);
        }

        var stats = app.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator.GetStats();
        Assert.True(stats.RefreshGrants >= 2, $"Expected several refreshes over {loads} loads of /data, saw {stats.RefreshGrants}.");
        Assert.Equal(0, stats.RefreshTokenReuse);

        var graceKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GraceHopperPersonId);
        var store = app.Services.GetRequiredService<IPitchlyTokenStore>();
        Assert.NotNull(await store.GetAsync(graceKey, TestContext.Current.CancellationToken));
        await Page.ClickAsync("#sign-out");
        await Expect(Page.Locator("#greeting")).ToHaveTextAsync("You are not signed in.");
        Assert.Null(await store.GetAsync(graceKey, TestContext.Current.CancellationToken));
    }
}

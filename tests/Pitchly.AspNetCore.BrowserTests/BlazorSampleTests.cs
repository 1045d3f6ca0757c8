using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Pitchly.AspNetCore.Emulator;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// The Blazor Web App sample, interactive server: every call is made from the circuit, where there is no HTTP request,
/// once over WebSockets and once with the circuit forced to long polling. With access tokens living two seconds, clicks
/// for twelve seconds cross at least five expiries, then Pitchly kills the live token before every click: every click
/// is served, and no refresh token is ever spent twice. A row added elsewhere reaches the subscription-fed component.
/// </summary>
public sealed class BlazorSampleTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private static readonly TimeSpan ClickFor = TimeSpan.FromSeconds(12);

    private static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Circuit_on_WebSockets_serves_every_click_across_expiries_and_an_early_invalidation_without_reuse()
    {
        var transport = await RunAsync("WebSockets");
        Assert.True(transport.WebSockets > 0, "The circuit never opened a WebSocket.");
        Assert.Equal(0, transport.Polls);
    }

    [Fact]
    public async Task Circuit_on_long_polling_serves_every_click_across_expiries_and_an_early_invalidation_without_reuse()
    {
        var transport = await RunAsync("LongPolling");
        Assert.Equal(0, transport.WebSockets);
        Assert.True(transport.Polls > 0, "The circuit never polled.");
    }

    [Fact]
    public async Task A_sign_in_required_in_the_circuit_takes_the_user_to_sign_in_and_back_to_the_page()
    {
        await using var app = await SampleApp.StartAsync(typeof(Pitchly.Samples.Blazor.Components.App).Assembly);
        var graceKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GraceHopperPersonId);
        await Page.GotoAsync(app.Url("/account/signin?returnUrl=/data"));
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");
        await Expect(Page).ToHaveURLAsync(app.Url("/data"));
        var load = Page.Locator("#load");
        await ClickAndExpectServedAsync(load, 1);

        // The tokens are gone (signed out in another browser, revoked): the next click cannot be served as Grace.
        Assert.True(await app.Services.GetRequiredService<IPitchlyTokenStore>().RemoveAsync(graceKey, cancellationToken: TestContext.Current.CancellationToken));
        await load.ClickAsync();

        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/oauth/authorize"));
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");
        await Expect(Page).ToHaveURLAsync(app.Url("/data"));
        await ClickAndExpectServedAsync(load, 1);
    }

    private async Task<(int WebSockets, int Polls)> RunAsync(string transport)
    {
        await using var app = await SampleApp.StartAsync(typeof(Pitchly.Samples.Blazor.Components.App).Assembly, new Dictionary<string, string>
        {
            ["Pitchly:Emulator:AccessTokenLifetime"] = AccessTokenLifetime.ToString("c"),
            ["Blazor:Transport"] = transport,
        });
        var emulator = app.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator;
        var webSockets = new ConcurrentQueue<string>();
        var polls = new ConcurrentQueue<string>();
        Page.WebSocket += (_, socket) =>
        {
            if (socket.Url.Contains("/_blazor", StringComparison.Ordinal))
            {
                webSockets.Enqueue(socket.Url);
            }
        };
        Page.Request += (_, request) =>
        {
            if (request.Url.Contains("/_blazor?id=", StringComparison.Ordinal))
            {
                polls.Enqueue(request.Url);
            }
        };

        await Page.GotoAsync(app.Url("/account/signin?returnUrl=/data"));
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");
        await Expect(Page).ToHaveURLAsync(app.Url("/data"));

        // The button appears once the circuit is up (no prerendering): every click is circuit activity.
        var load = Page.Locator("#load");
        await Expect(load).ToBeEnabledAsync();
        var grantsBefore = emulator.GetStats().RefreshGrants;
        var clicks = 0;
        for (var elapsed = Stopwatch.StartNew(); elapsed.Elapsed < ClickFor * 2; )
        {
            if (elapsed.Elapsed >= ClickFor)
            {
                // Pitchly kills the live token before every click: the call meets the invalid-token answer and is replayed.
                emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.GraceHopperPersonId);
            }

            await ClickAndExpectServedAsync(load, ++clicks);
            await Task.Delay(TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);
        }

        var stats = emulator.GetStats();
        Assert.True(
            stats.RefreshGrants - grantsBefore >= 5,
            $"Expected a refresh for each of at least five expiries over {clicks} clicks, saw {stats.RefreshGrants - grantsBefore}.");
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(app.Url("/data"), Page.Url);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{transport}: {clicks} clicks served, {stats.RefreshGrants - grantsBefore} refreshes, {stats.RefreshTokenReuse} refresh tokens reused, {webSockets.Count} WebSockets, {polls.Count} polls.");

        await LivePage.RowAddedElsewhereAppearsAsync(Page, app, emulator);
        Assert.Equal(0, emulator.GetStats().RefreshTokenReuse);
        return (webSockets.Count, polls.Count);
    }

    private async Task ClickAndExpectServedAsync(ILocator load, int click)
    {
        await Expect(load).ToBeEnabledAsync();
        await load.ClickAsync();
        await Expect(Page.Locator("#loads")).ToHaveTextAsync($"Loaded {click} times");
        await Expect(Page.Locator("#databases")).ToContainTextAsync(SeededData.AcmeDatabaseName);
        await Expect(Page.Locator("#workspaces")).ToContainTextAsync(SeededData.AcmeWorkspaceName);
        await Expect(Page.Locator("#problems")).ToHaveCountAsync(0);
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.WebFarm;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// The web-farm sample as a user meets it: one program starts Redis, the emulator, three MVC instances (child
/// processes) and a round-robin proxy. Signed in through the proxy, the user keeps loading <c>/data</c> while
/// two-second tokens expire; the pages come from every instance, and no refresh token is ever spent twice.
/// </summary>
public sealed class WebFarmTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private static readonly TimeSpan ReloadFor = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Data_keeps_working_across_token_expiries_while_requests_land_on_every_instance()
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--environment=Development",
            "--applicationName=Pitchly.Samples.WebFarm",
            $"--contentRoot={SampleApp.ProjectDirectory("Pitchly.Samples.WebFarm")}",
            "--Logging:LogLevel:Default=None",
            "--Pitchly:Emulator:AccessTokenLifetime=00:00:02",
        ];
        // Three instances start as separate processes: generous on a busy machine.
        await using var farm = await EntryPointHost.StartAsync(typeof(WebFarmOptions).Assembly, args, TimeSpan.FromMinutes(3));
        var proxy = new Uri(farm.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        string Url(string path) => new Uri(proxy, path).ToString();

        await Page.GotoAsync(Url("/account/signin"));
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");
        await Expect(Page).ToHaveURLAsync(Url("/me"));
        await Expect(Page.Locator("#name")).ToHaveTextAsync("Grace Hopper");

        var served = new HashSet<string>(StringComparer.Ordinal);
        var loads = 0;
        for (var elapsed = Stopwatch.StartNew(); elapsed.Elapsed < ReloadFor || served.Count < 3; loads++)
        {
            Assert.True(loads < 100, $"After {loads} loads only these instances served /data: {string.Join(", ", served)}.");
            await Page.GotoAsync(Url("/data"));
            Assert.Equal(Url("/data"), Page.Url);
            await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeRowValue);
            await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeRecordValue);
            await Expect(Page.Locator("#problems")).ToHaveCountAsync(0);
            served.Add(await Page.Locator("#instance strong").InnerTextAsync());
            await Task.Delay(TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);
        }

        Assert.Equal(["mvc-1", "mvc-2", "mvc-3"], served.Order(StringComparer.Ordinal));
        var stats = farm.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator.GetStats();
        Assert.True(stats.RefreshGrants >= 2, $"Expected several refreshes over {loads} loads of /data, saw {stats.RefreshGrants}.");
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(0, stats.RevokedFamilies);
    }
}

using System.Diagnostics;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// The web farm as a user meets it: the sample app host (samples/Pitchly.Samples.AppHost, on Aspire's orchestrator)
/// starts Redis, the emulator, three MVC instances and a round-robin proxy. Signed in through the proxy, the user keeps
/// loading <c>/data</c> while two-second tokens expire; the pages come from every instance, and no refresh token is
/// ever spent twice.
/// </summary>
public sealed class WebFarmTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private static readonly TimeSpan ReloadFor = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Data_keeps_working_across_token_expiries_while_requests_land_on_every_instance()
    {
        // Five processes start on a busy machine: generous.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pitchly_Samples_AppHost>(
            ["--Farm:AccessTokenLifetime=00:00:02"], timeout.Token);
        await using var farm = await appHost.BuildAsync(timeout.Token);
        await farm.StartAsync(timeout.Token);
        await farm.ResourceNotifications.WaitForResourceHealthyAsync("proxy", timeout.Token);
        // 127.0.0.1: the browser resolves no host name (ChromiumFixture), and the emulator's endpoints are given that way too.
        var proxy = new UriBuilder(farm.GetEndpoint("proxy", "http")) { Host = "127.0.0.1" }.Uri;
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
        using var emulator = farm.CreateHttpClient("pitchly", "http");
        using var stats = JsonDocument.Parse(await emulator.GetStringAsync(new Uri("/_emulator/stats", UriKind.Relative), timeout.Token));
        var refreshGrants = stats.RootElement.GetProperty("refresh_grants").GetInt32();
        Assert.True(refreshGrants >= 2, $"Expected several refreshes over {loads} loads of /data, saw {refreshGrants}.");
        Assert.Equal(0, stats.RootElement.GetProperty("refresh_token_reuse").GetInt32());
        Assert.Equal(0, stats.RootElement.GetProperty("revoked_families").GetInt32());
    }
}

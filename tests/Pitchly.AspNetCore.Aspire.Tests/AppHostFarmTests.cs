using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Pitchly.AspNetCore.Aspire.Tests;

/// <summary>
/// The sample app host started for real (Aspire's orchestrator, redis-server, the emulator, three MVC instances and the
/// proxy, all on loopback): a user signs in through the proxy and calls Pitchly on every instance.
/// </summary>
public sealed class AppHostFarmTests
{
    [Fact]
    public async Task A_user_signs_in_through_the_proxy_and_every_instance_calls_Pitchly_for_them()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pitchly_Samples_AppHost>(
            ["--Farm:AutoApprove=true"], timeout.Token);
        await using var app = await appHost.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("pitchly", timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("proxy", timeout.Token);

        var proxy = app.GetEndpoint("proxy", "http");
        using var browser = new LoopbackBrowser();

        var (signInAt, profile) = await browser.GetAsync(new Uri(proxy, "/account/signin"), timeout.Token);
        Assert.Equal(new Uri(proxy, "/me"), signInAt);
        Assert.Contains("Acme Analytics", profile, StringComparison.Ordinal);

        var served = new HashSet<string>(StringComparer.Ordinal);
        for (var load = 0; load < 6; load++)
        {
            var (dataAt, page) = await browser.GetAsync(new Uri(proxy, "/data"), timeout.Token);
            Assert.Equal(new Uri(proxy, "/data"), dataAt);
            served.Add(System.Text.RegularExpressions.Regex.Match(page, "Served by instance <strong>([^<]+)</strong>").Groups[1].Value);
        }

        Assert.Equal(["mvc-1", "mvc-2", "mvc-3"], served.Order(StringComparer.Ordinal));

        using var emulator = app.CreateHttpClient("pitchly", "http");
        using var stats = JsonDocument.Parse(await emulator.GetStringAsync(new Uri("/_emulator/stats", UriKind.Relative), timeout.Token));
        Assert.Equal(1, stats.RootElement.GetProperty("authorization_code_grants").GetInt32());
        Assert.Equal(0, stats.RootElement.GetProperty("refresh_token_reuse").GetInt32());
        Assert.True(stats.RootElement.GetProperty("graphql_requests").GetInt32() >= 7);
    }
}

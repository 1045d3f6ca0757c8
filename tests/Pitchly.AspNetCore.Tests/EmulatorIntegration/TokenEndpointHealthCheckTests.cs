using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

public sealed class TokenEndpointHealthCheckTests
{
    [Fact]
    public async Task A_reachable_token_endpoint_is_healthy_and_the_probe_spends_nothing()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var report = await CheckAsync(emulator.ClientConfiguration["Pitchly:TokenEndpoint"]!);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        var stats = emulator.Emulator.GetStats();
        Assert.Equal(1, stats.TokenRequests);
        Assert.Equal(0, stats.AccessTokensIssued);
    }

    [Fact]
    public async Task An_unreachable_token_endpoint_is_unhealthy()
    {
        var report = await CheckAsync($"http://127.0.0.1:{FreePort()}/api/oauth/token");

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("cannot be reached", report.Entries["pitchly-token-endpoint"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_that_is_not_a_token_endpoint_is_unhealthy()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

        var report = await CheckAsync(new Uri(emulator.BaseAddress, "/no-such-endpoint").ToString());

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
    }

    private static async Task<HealthReport> CheckAsync(string tokenEndpoint)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:TokenEndpoint"] = tokenEndpoint }).Build());
        services.AddHealthChecks().AddPitchlyTokenEndpointHealthCheck(timeout: TimeSpan.FromSeconds(5));
        await using var provider = services.BuildServiceProvider();
        return await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

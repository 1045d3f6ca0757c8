using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.Shared;
using Pitchly.Samples.Worker;

namespace Pitchly.AspNetCore.BrowserTests;

public sealed class WorkerTests
{
    [Fact]
    public async Task Worker_keeps_reading_and_writing_install_data_across_token_expiries()
    {
        string[] args =
        [
            // As `dotnet run` starts it (launchSettings.json): the embedded emulator runs in Development only.
            "--environment=Development",
            "--Pitchly:Emulator:AccessTokenLifetime=00:00:01",
            "--InstallSync:Interval=00:00:00.200",
            "--Logging:LogLevel:Default=None",
        ];
        await using var worker = await EntryPointHost.StartAsync(
            typeof(InstallSyncWorker).Assembly,
            args,
            TimeSpan.FromSeconds(30));
        var services = worker.Services;

        var firstHeartbeat = await WaitForHeartbeatAsync(services, previous: null);
        // Later heartbeats come after the one-second tokens have expired: the install's token was renewed.
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        var laterHeartbeat = await WaitForHeartbeatAsync(services, previous: firstHeartbeat);

        Assert.NotEqual(firstHeartbeat, laterHeartbeat);
        var stats = services.GetRequiredService<PitchlyEmulatorServer>().Emulator.GetStats();
        Assert.True(stats.ClientCredentialsGrants >= 2, $"Expected the install token to be renewed, saw {stats.ClientCredentialsGrants} client_credentials grants.");
        Assert.Equal(0, stats.RefreshTokenReuse);
    }

    // Reads the heartbeat through the worker's own client (the install's token), as another reader of the data would.
    private static async Task<string> WaitForHeartbeatAsync(IServiceProvider services, string? previous)
    {
        var pitchly = services.GetRequiredService<PitchlyDataReader>();
        for (var attempt = 0; ; attempt++)
        {
            var problems = new List<string>();
            var databases = await pitchly.GetDatabasesAsync(PitchlyEmulatorDefaults.AcmeOrganizationId, problems, TestContext.Current.CancellationToken);
            Assert.Empty(problems);
            var heartbeat = databases
                .SelectMany(database => database.Rows.SelectMany(row => row.Values.Values))
                .FirstOrDefault(value => value.StartsWith(InstallSyncWorker.HeartbeatPrefix, StringComparison.Ordinal));
            if (heartbeat is not null && heartbeat != previous)
            {
                return heartbeat;
            }

            Assert.True(attempt < 50, $"The worker wrote no new heartbeat (last seen: {heartbeat ?? "none"}).");
            await Task.Delay(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }
    }
}

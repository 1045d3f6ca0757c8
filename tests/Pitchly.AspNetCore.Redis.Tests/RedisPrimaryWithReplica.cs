using System.Globalization;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>A real primary with one real replica (<c>--replicaof</c>) on loopback ports, the replica attached and in sync.</summary>
public sealed class RedisPrimaryWithReplica : IAsyncLifetime
{
    public RedisServer Primary { get; } = new();

    public RedisServer Replica { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Primary.InitializeAsync();
        Replica = new RedisServer { ExtraArguments = ["--replicaof", "127.0.0.1", Primary.Port.ToString(CultureInfo.InvariantCulture)] };
        await Replica.InitializeAsync();
        await WaitUntilInSyncAsync();
    }

    /// <summary>Waits until the replica's link is up and the primary lists it online.</summary>
    public async Task WaitUntilInSyncAsync()
    {
        await Eventually.HoldsAsync(
            async () =>
            {
                var replica = (string)(await Replica.AdminServer.ExecuteAsync("INFO", "replication"))!;
                var primary = (string)(await Primary.AdminServer.ExecuteAsync("INFO", "replication"))!;
                return replica.Contains("master_link_status:up", StringComparison.Ordinal)
                    && primary.Contains("state=online", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(20),
            "the replica is attached and in sync");
    }

    public async ValueTask DisposeAsync()
    {
        if (Replica is not null)
        {
            await Replica.ResumeAsync().ContinueWith(static _ => { }, TaskScheduler.Default);
            await Replica.DisposeAsync();
        }

        await Primary.DisposeAsync();
    }
}

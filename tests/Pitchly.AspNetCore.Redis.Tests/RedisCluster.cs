using Nodes = Pitchly.AspNetCore.Storm.Orchestration.RedisCluster;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real, throw-away Redis Cluster of three primaries (no replicas) on free loopback ports, without persistence, owned
/// by one test class: the storm harness's cluster, with an admin connection. Slots can be migrated from one primary to
/// another while clients use them.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime
{
    public const int Primaries = 3;

    private Nodes? _nodes;
    private ConnectionMultiplexer? _admin;

    public IReadOnlyList<int> Ports => Started.Ports;

    /// <summary>Gets the StackExchange.Redis configuration string naming every primary.</summary>
    public string Configuration => Started.Configuration;

    /// <summary>Gets a plain connection to the cluster (admin commands allowed).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The cluster has not started.");

    private Nodes Started => _nodes ?? throw new InvalidOperationException("The cluster has not started.");

    public IServer Node(int port) => Admin.GetServer("127.0.0.1", port);

    public async ValueTask InitializeAsync()
    {
        _nodes = await Nodes.StartAsync(Primaries, TestContext.Current.CancellationToken);
        _admin = await ConnectionMultiplexer.ConnectAsync($"{Configuration},allowAdmin=true,abortConnect=false,connectTimeout=2000");
    }

    /// <summary>Gets the port of the primary that owns <paramref name="slot"/>, as the nodes say now.</summary>
    public async Task<int> OwnerAsync(int slot)
    {
        var configuration = await Node(Ports[0]).ClusterNodesAsync();
        return ((IPEndPoint)configuration!.GetBySlot(slot)!.EndPoint!).Port;
    }

    /// <summary>
    /// Moves <paramref name="slot"/> with its keys to the primary on <paramref name="targetPort"/>, as
    /// <c>redis-cli --cluster reshard</c> does: IMPORTING / MIGRATING, MIGRATE of the keys in batches, then the new owner
    /// told to every node (the target first, so the source's redirections point to a node that serves the slot).
    /// </summary>
    public async Task MigrateSlotAsync(int slot, int targetPort)
    {
        var sourcePort = await OwnerAsync(slot);
        if (sourcePort == targetPort)
        {
            return;
        }

        var source = Node(sourcePort);
        var target = Node(targetPort);
        var sourceId = (string)(await source.ExecuteAsync("CLUSTER", "MYID"))!;
        var targetId = (string)(await target.ExecuteAsync("CLUSTER", "MYID"))!;
        await target.ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
        await source.ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
        while (true)
        {
            var keys = (RedisResult[])(await source.ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slot, 100))!;
            if (keys.Length == 0)
            {
                break;
            }

            var arguments = new List<object> { "127.0.0.1", targetPort, string.Empty, 0, 5000, "REPLACE", "KEYS" };
            arguments.AddRange(keys.Select(key => (object)(string)key!));
            await source.ExecuteAsync("MIGRATE", [.. arguments]);
        }

        await target.ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        await source.ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        foreach (var port in Ports.Where(port => port != sourcePort && port != targetPort))
        {
            await Node(port).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_nodes is not null)
        {
            await _nodes.DisposeAsync();
        }
    }
}

using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real, throw-away Redis Cluster of three primaries (no replicas) on free loopback ports, without persistence, owned
/// by one test class. Slots can be migrated from one primary to another while clients use them.
/// </summary>
public sealed class RedisCluster : IAsyncLifetime
{
    public const int Primaries = 3;

    /// <summary>A node's cluster bus listens on its port + 10000, which must be free as well.</summary>
    private const int BusPortOffset = 10000;

    private readonly string _directory = Directory.CreateTempSubdirectory("pitchly-cluster-").FullName;
    private readonly List<Process> _processes = [];
    private ConnectionMultiplexer? _admin;

    public IReadOnlyList<int> Ports { get; } = FreePorts(Primaries);

    /// <summary>Gets the StackExchange.Redis configuration string naming every primary.</summary>
    public string Configuration => string.Join(",", Ports.Select(port => $"127.0.0.1:{port}"));

    /// <summary>Gets a plain connection to the cluster (admin commands allowed).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The cluster has not started.");

    public IServer Node(int port) => Admin.GetServer("127.0.0.1", port);

    public async ValueTask InitializeAsync()
    {
        foreach (var port in Ports)
        {
            _processes.Add(Start(port));
        }

        foreach (var port in Ports)
        {
            await WaitAsync(async () => await RedisCliAsync("-p", Text(port), "ping") == "PONG", $"redis-server on port {port} answers PING");
        }

        var create = new List<string> { "--cluster", "create" };
        create.AddRange(Ports.Select(port => $"127.0.0.1:{port}"));
        create.AddRange(["--cluster-replicas", "0", "--cluster-yes"]);
        await RedisCliAsync([.. create]);
        foreach (var port in Ports)
        {
            await WaitAsync(
                async () =>
                {
                    var info = await RedisCliAsync("-p", Text(port), "cluster", "info");
                    return info.Contains("cluster_state:ok", StringComparison.Ordinal)
                        && info.Contains($"cluster_known_nodes:{Primaries}", StringComparison.Ordinal);
                },
                $"node {port} reports cluster_state:ok");
        }

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

        foreach (var (process, port) in _processes.Zip(Ports))
        {
            try
            {
                await RedisCliAsync("-p", Text(port), "shutdown", "nosave");
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }

            process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private Process Start(int port)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_directory, Text(port))).FullName;
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--port", Text(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
            "--cluster-config-file", Path.Combine(directory, "nodes.conf"), "--cluster-node-timeout", "2000",
            "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no",
        })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (Win32Exception exception)
        {
            throw new InvalidOperationException(
                "These tests need a real redis-server and redis-cli on PATH (Debian: apt-get install -y redis-server).", exception);
        }

        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs <c>redis-cli</c> (the harness's runner) with a 30-second limit.</summary>
    private static async Task<string> RedisCliAsync(params string[] arguments)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await Pitchly.AspNetCore.Storm.Orchestration.RedisCli.RunAsync(timeout.Token, arguments);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (InvalidOperationException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"Not within 20 s: {what}.");
            }

            await Task.Delay(50);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Free loopback ports whose cluster bus port (+10000) is free too.</summary>
    private static int[] FreePorts(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port + BusPortOffset > IPEndPoint.MaxPort || ports.Contains(port) || ports.Contains(port + BusPortOffset) || ports.Contains(port - BusPortOffset))
            {
                continue;
            }

            try
            {
                using var bus = new TcpListener(IPAddress.Loopback, port + BusPortOffset);
                bus.Start();
            }
            catch (SocketException)
            {
                continue;
            }

            ports.Add(port);
        }

        return [.. ports];
    }
}

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A throwaway Redis Cluster of N primaries (no replicas) on free loopback ports, each <c>redis-server</c> run in the
/// foreground so this process owns it, joined with <c>redis-cli --cluster create</c>.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    /// <summary>A node's cluster bus listens on its port + 10000, which must be free as well.</summary>
    private const int BusPortOffset = 10000;

    private readonly string _directory;
    private readonly List<ChildProcess> _processes = [];

    private RedisCluster(IReadOnlyList<int> ports, string directory)
    {
        Ports = ports;
        _directory = directory;
    }

    /// <summary>Gets the ports of the primaries.</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>Gets the StackExchange.Redis configuration string naming every primary.</summary>
    public string Configuration => string.Join(",", Ports.Select(port => $"127.0.0.1:{port}"));

    /// <summary>Starts <paramref name="primaries"/> nodes, joins them, and waits until every node reports <c>cluster_state:ok</c>.</summary>
    public static async Task<RedisCluster> StartAsync(int primaries, CancellationToken cancellationToken = default)
    {
        var cluster = new RedisCluster(FreePorts(primaries), Directory.CreateTempSubdirectory("pitchly-storm-cluster-").FullName);
        try
        {
            foreach (var port in cluster.Ports)
            {
                cluster._processes.Add(Launch(port, Directory.CreateDirectory(Path.Combine(cluster._directory, Text(port))).FullName));
            }

            foreach (var port in cluster.Ports)
            {
                await cluster.WaitAsync(async () => await RedisCli.RunAsync(cancellationToken, "-p", Text(port), "ping") == "PONG", $"node {port} answers PING", cancellationToken);
            }

            await RedisCli.RunAsync(cancellationToken, ["--cluster", "create", .. cluster.Ports.Select(port => $"127.0.0.1:{port}"), "--cluster-replicas", "0", "--cluster-yes"]);
            foreach (var port in cluster.Ports)
            {
                await cluster.WaitAsync(
                    async () =>
                    {
                        var info = await RedisCli.RunAsync(cancellationToken, "-p", Text(port), "cluster", "info");
                        return info.Contains("cluster_state:ok", StringComparison.Ordinal)
                            && info.Contains($"cluster_known_nodes:{primaries}", StringComparison.Ordinal);
                    },
                    $"node {port} reports cluster_state:ok",
                    cancellationToken);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Gets the nodes' logs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var (process, port) in _processes.Zip(Ports))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- redis-server:{port} (cluster) ---").Append(process.Output);
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_processes.Select(process => process.DisposeAsync().AsTask()));
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static ChildProcess Launch(int port, string directory) =>
        ChildProcess.Start(
            $"redis-server:{port}",
            "redis-server",
            [
                "--port", Text(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", Path.Combine(directory, "nodes.conf"),
                "--save", string.Empty,
                "--appendonly", "no",
                "--dir", directory,
                "--maxclients", "10000",
            ]);

    private async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_processes.FirstOrDefault(process => process.HasExited) is { } exited)
            {
                throw new InvalidOperationException($"{exited.Name} exited at start (is redis-server installed?):\n{exited.Output}");
            }

            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (InvalidOperationException)
            {
                // Not listening or not joined yet.
            }

            if (stopwatch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"Not within 30 s: {what}.\n{Describe()}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Free loopback ports whose cluster bus port (+10000) is free too.</summary>
    private static int[] FreePorts(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = FreePort.Next();
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

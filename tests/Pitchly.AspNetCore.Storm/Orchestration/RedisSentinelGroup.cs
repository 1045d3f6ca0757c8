namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A throwaway Redis primary with two replicas and three Redis Sentinels watching them, each <c>redis-server</c> and
/// <c>redis-sentinel</c> run in the foreground on free loopback ports so this process owns it. Failovers can be forced
/// while clients use the group; clients find the current primary through the sentinels (<see cref="Configuration"/>).
/// </summary>
public sealed class RedisSentinelGroup : IAsyncDisposable
{
    /// <summary>How many sentinels must agree the primary is down: a majority of the three.</summary>
    private const int Quorum = 2;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly string _directory;
    private readonly Dictionary<int, ChildProcess> _dataNodes = [];
    private readonly List<(int Port, ChildProcess Process)> _sentinels = [];

    private RedisSentinelGroup(IReadOnlyList<int> dataPorts, IReadOnlyList<int> sentinelPorts, string directory)
    {
        DataPorts = dataPorts;
        SentinelPorts = sentinelPorts;
        _directory = directory;
    }

    /// <summary>Gets the name the sentinels monitor the primary under.</summary>
    public string ServiceName => "pitchly";

    /// <summary>Gets the ports of the data nodes (the primary first at start; failovers move the role).</summary>
    public IReadOnlyList<int> DataPorts { get; }

    /// <summary>Gets the ports of the sentinels.</summary>
    public IReadOnlyList<int> SentinelPorts { get; }

    /// <summary>
    /// Gets the StackExchange.Redis configuration string naming every sentinel and the service: with
    /// <c>serviceName</c> set, StackExchange.Redis asks the sentinels for the primary and follows its failovers.
    /// </summary>
    public string Configuration => string.Join(",", SentinelPorts.Select(port => $"127.0.0.1:{port}")) + $",serviceName={ServiceName}";

    /// <summary>Gets the ids of the group's live processes (data nodes and sentinels).</summary>
    public IReadOnlyList<int> ProcessIds =>
        [.. _dataNodes.Values.Concat(_sentinels.Select(s => s.Process)).Where(p => !p.HasExited).Select(p => p.Id)];

    /// <summary>
    /// Starts the primary, two replicas of it and three sentinels, and waits until the replicas are in sync and every
    /// sentinel knows both replicas and the two other sentinels.
    /// </summary>
    public static async Task<RedisSentinelGroup> StartAsync(CancellationToken cancellationToken = default)
    {
        var ports = DistinctFreePorts(6);
        var group = new RedisSentinelGroup(ports[..3], ports[3..], Directory.CreateTempSubdirectory("pitchly-storm-sentinel-").FullName);
        try
        {
            var primary = group.DataPorts[0];
            foreach (var port in group.DataPorts)
            {
                group._dataNodes[port] = LaunchDataNode(port, port == primary ? null : primary, group.NodeDirectory("redis", port));
            }

            foreach (var port in group.DataPorts)
            {
                await group.WaitAsync(async () => await RedisCli.RunAsync(cancellationToken, "-p", Text(port), "ping") == "PONG", $"node {port} answers PING", cancellationToken);
            }

            foreach (var port in group.DataPorts.Where(port => port != primary))
            {
                await group.WaitAsync(async () => IsInSyncWith(await ReplicationAsync(port, cancellationToken), primary), $"replica {port} is in sync with {primary}", cancellationToken);
            }

            foreach (var port in group.SentinelPorts)
            {
                group._sentinels.Add((port, group.LaunchSentinel(port, primary, group.NodeDirectory("sentinel", port))));
            }

            foreach (var port in group.SentinelPorts)
            {
                await group.WaitAsync(
                    async () =>
                    {
                        var state = await group.SentinelStateAsync(port, cancellationToken);
                        return state.TryGetValue("num-slaves", out var replicas) && replicas == "2"
                            && state.TryGetValue("num-other-sentinels", out var others) && others == "2";
                    },
                    $"sentinel {port} knows both replicas and the two other sentinels",
                    cancellationToken);
            }

            return group;
        }
        catch
        {
            await group.DisposeAsync();
            throw;
        }
    }

    /// <summary>Asks a sentinel (<c>SENTINEL get-master-addr-by-name</c>) which data node is the primary.</summary>
    public Task<int> PrimaryPortAsync(CancellationToken cancellationToken = default) => PrimaryPortAsync(SentinelPorts[0], cancellationToken);

    /// <summary>
    /// Forces a failover (<c>SENTINEL FAILOVER</c>) and waits until every sentinel names the new primary, it reports
    /// <c>role:master</c> and every other data node replicates from it with its link up; returns the new primary's port.
    /// </summary>
    public async Task<int> FailoverAsync(CancellationToken cancellationToken = default)
    {
        var previous = await PrimaryPortAsync(cancellationToken);

        // Refused while a failover is still settling or no replica looks fit yet (a sentinel refreshes what it knows
        // of the replicas every few seconds): asked again until one starts.
        await WaitAsync(
            async () =>
            {
                var reply = await RedisCli.RunAsync(cancellationToken, "-p", Text(SentinelPorts[0]), "sentinel", "failover", ServiceName);
                return reply == "OK";
            },
            $"a sentinel accepts SENTINEL FAILOVER {ServiceName}",
            cancellationToken);
        return await WaitForNewPrimaryAsync(previous, $"every sentinel names a new primary instead of {previous} and the replicas follow it", null, cancellationToken);
    }

    /// <summary>Waits until all sentinels name one primary other than <paramref name="previous"/> and the group settled on it.</summary>
    private async Task<int> WaitForNewPrimaryAsync(int previous, string what, ChildProcess? ignoreExited, CancellationToken cancellationToken)
    {
        var primary = 0;
        await WaitAsync(
            async () =>
            {
                var named = new HashSet<int>();
                foreach (var sentinel in SentinelPorts)
                {
                    named.Add(await PrimaryPortAsync(sentinel, cancellationToken));
                }

                if (named.Count != 1 || named.Single() == previous)
                {
                    return false;
                }

                primary = named.Single();
                return await IsSettledAsync(primary, cancellationToken);
            },
            what,
            cancellationToken,
            ignoreExited: ignoreExited);
        return primary;
    }

    /// <summary>
    /// Kills the primary (SIGKILL: no shutdown, writes not yet replicated are lost), waits until the sentinels have
    /// promoted a replica and the other one follows it, then starts the killed node again as a replica of the new
    /// primary, as an operator would bring it back, and waits until it is in sync; returns the new primary's port.
    /// </summary>
    public async Task<int> KillPrimaryAsync(CancellationToken cancellationToken = default)
    {
        var killed = await PrimaryPortAsync(cancellationToken);
        var process = _dataNodes[killed];
        process.Kill();
        await process.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        var primary = await WaitForNewPrimaryAsync(killed, $"every sentinel names a new primary instead of the killed {killed} and the other replica follows it", process, cancellationToken);
        await process.DisposeAsync();
        _dataNodes[killed] = LaunchDataNode(killed, primary, NodeDirectory("redis", killed));
        await WaitAsync(
            async () => await PrimaryPortAsync(cancellationToken) == primary && await IsSettledAsync(primary, cancellationToken),
            $"the restarted node {killed} is in sync with {primary}",
            cancellationToken);
        return primary;
    }

    /// <summary>Gets the processes' logs.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var (port, process) in _dataNodes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- redis-server:{port} (sentinel group) ---").Append(process.Output);
        }

        foreach (var (port, process) in _sentinels)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- redis-sentinel:{port} ---").Append(process.Output);
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Sentinels first, so none reacts to the data nodes going away.
        await Task.WhenAll(_sentinels.Select(s => s.Process.DisposeAsync().AsTask()));
        await Task.WhenAll(_dataNodes.Values.Select(process => process.DisposeAsync().AsTask()));
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static ChildProcess LaunchDataNode(int port, int? primary, string directory)
    {
        var arguments = new List<string>
        {
            "--port", Text(port),
            "--bind", "127.0.0.1",
            "--save", string.Empty,
            "--appendonly", "no",
            "--dir", directory,
            "--maxclients", "10000",

            // A replica that must resynchronise in full (one just started, say) gets its copy at once rather than
            // after the default five seconds' wait for other replicas to join the transfer.
            "--repl-diskless-sync-delay", "0",
        };
        if (primary is { } of)
        {
            arguments.AddRange(["--replicaof", "127.0.0.1", Text(of)]);
        }

        return ChildProcess.Start($"redis-server:{port}", "redis-server", arguments);
    }

    /// <summary>Starts a sentinel from a configuration file of its own, which it rewrites as it learns the group.</summary>
    private ChildProcess LaunchSentinel(int port, int primary, string directory)
    {
        var file = Path.Combine(directory, "sentinel.conf");
        File.WriteAllText(
            file,
            string.Join(
                '\n',
                $"port {port}",
                "bind 127.0.0.1",
                $"dir {directory}",
                $"sentinel monitor {ServiceName} 127.0.0.1 {primary} {Quorum}",
                $"sentinel down-after-milliseconds {ServiceName} 1000",
                $"sentinel failover-timeout {ServiceName} 5000",
                $"sentinel parallel-syncs {ServiceName} 2",
                string.Empty));
        return ChildProcess.Start($"redis-sentinel:{port}", "redis-sentinel", [file]);
    }

    private static bool IsInSyncWith(string replication, int primary) =>
        replication.Contains("role:slave", StringComparison.Ordinal)
        && replication.Contains($"master_port:{primary}\n", StringComparison.Ordinal)
        && replication.Contains("master_link_status:up", StringComparison.Ordinal);

    private static async Task<string> ReplicationAsync(int port, CancellationToken cancellationToken) =>
        (await RedisCli.RunAsync(cancellationToken, "-p", Text(port), "info", "replication")).Replace("\r", string.Empty, StringComparison.Ordinal) + "\n";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int[] DistinctFreePorts(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = FreePort.Next();
            if (!ports.Contains(port))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private string NodeDirectory(string kind, int port) =>
        Directory.CreateDirectory(Path.Combine(_directory, $"{kind}-{Text(port)}")).FullName;

    /// <summary>Whether <paramref name="primary"/> reports itself primary and every other data node replicates from it.</summary>
    private async Task<bool> IsSettledAsync(int primary, CancellationToken cancellationToken)
    {
        if (!(await ReplicationAsync(primary, cancellationToken)).Contains("role:master", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var port in DataPorts.Where(port => port != primary && !_dataNodes[port].HasExited))
        {
            if (!IsInSyncWith(await ReplicationAsync(port, cancellationToken), primary))
            {
                return false;
            }
        }

        return true;
    }

    private async Task<int> PrimaryPortAsync(int sentinel, CancellationToken cancellationToken)
    {
        var reply = await RedisCli.RunAsync(cancellationToken, "-p", Text(sentinel), "sentinel", "get-master-addr-by-name", ServiceName);
        var lines = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length != 2 || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new InvalidOperationException($"Sentinel {sentinel} named no primary for {ServiceName}: '{reply}'.");
        }

        return port;
    }

    /// <summary>Reads <c>SENTINEL MASTER</c>'s field/value pairs.</summary>
    private async Task<Dictionary<string, string>> SentinelStateAsync(int sentinel, CancellationToken cancellationToken)
    {
        var lines = (await RedisCli.RunAsync(cancellationToken, "-p", Text(sentinel), "sentinel", "master", ServiceName))
            .Split('\n', StringSplitOptions.TrimEntries);
        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < lines.Length; i += 2)
        {
            state[lines[i]] = lines[i + 1];
        }

        return state;
    }

    private async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken, ChildProcess? ignoreExited = null)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_dataNodes.Values.Concat(_sentinels.Select(s => s.Process)).FirstOrDefault(process => process.HasExited && process != ignoreExited) is { } exited)
            {
                throw new InvalidOperationException($"{exited.Name} exited (are redis-server and redis-sentinel installed?):\n{exited.Output}");
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
                // Not listening yet, or the group is between states.
            }

            if (stopwatch.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException($"Not within {ReadyTimeout.TotalSeconds:0} s: {what}.\n{Describe()}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// A web farm on this machine: one Redis, one stand-alone emulator in strict reuse mode and N app instances, each a
/// separate process on 127.0.0.1. Disposing it kills every process it started.
/// </summary>
public sealed class StormFarm : IAsyncDisposable
{
    /// <summary>The line prefix a child writes once it listens, followed by its address.</summary>
    public const string ReadyPrefix = "storm-ready: ";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StormFarmOptions _options;
    private readonly List<StormInstance> _instances = [];
    private readonly List<StormInstance> _killed = [];
    private readonly HttpClient _control = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ChildProcess? _emulatorProcess;
    private int _instanceCount;

    private StormFarm(StormFarmOptions options) => _options = options;

    /// <summary>Gets the Redis server the farm started, or <see langword="null"/> when it uses an existing one.</summary>
    public RedisServer? Redis { get; private set; }

    /// <summary>Gets the Redis Cluster the farm started, when <see cref="StormFarmOptions.RedisClusterPrimaries"/> is set.</summary>
    public RedisCluster? RedisCluster { get; private set; }

    /// <summary>Gets the Redis Sentinel group the farm started, when <see cref="StormFarmOptions.RedisSentinel"/> is set.</summary>
    public RedisSentinelGroup? RedisSentinel { get; private set; }

    /// <summary>Gets the Redis configuration string the instances share.</summary>
    public string RedisConfiguration { get; private set; } = string.Empty;

    /// <summary>Gets the emulator's control client.</summary>
    public EmulatorClient Emulator { get; private set; } = null!;

    /// <summary>Gets the proxy in front of the emulator's GraphQL endpoint, when <see cref="StormFarmOptions.ProxyGraphQL"/> is set.</summary>
    public RejectingGraphQLProxy? GraphQLProxy { get; private set; }

    /// <summary>Gets the running instances.</summary>
    public IReadOnlyList<StormInstance> Instances => _instances;

    /// <summary>Gets the ids of the processes the farm runs: the emulator, the live instances and its own Redis.</summary>
    public IReadOnlyList<int> ProcessIds
    {
        get
        {
            var ids = new List<int>();
            if (_emulatorProcess is not null)
            {
                ids.Add(_emulatorProcess.Id);
            }

            lock (_instances)
            {
                ids.AddRange(_instances.Select(i => i.Process.Id));
            }

            if (Redis is not null)
            {
                ids.Add(Redis.ProcessId);
            }

            ids.AddRange(RedisSentinel?.ProcessIds ?? []);
            return ids;
        }
    }

    /// <summary>Gets the person ids of the generated load users, "Load User 1…N".</summary>
    public IReadOnlyList<string> PersonIds { get; private set; } = [];

    /// <summary>Starts Redis (unless given), the emulator and the instances, and waits until all listen.</summary>
    public static async Task<StormFarm> StartAsync(StormFarmOptions options, CancellationToken cancellationToken = default)
    {
        var farm = new StormFarm(options);
        try
        {
            if (options.RedisSentinel)
            {
                farm.RedisSentinel = await RedisSentinelGroup.StartAsync(cancellationToken);
                farm.RedisConfiguration = farm.RedisSentinel.Configuration;
            }
            else if (options.RedisClusterPrimaries > 0)
            {
                farm.RedisCluster = await RedisCluster.StartAsync(options.RedisClusterPrimaries, cancellationToken);
                farm.RedisConfiguration = farm.RedisCluster.Configuration;
            }
            else if (options.Redis is null)
            {
                farm.Redis = await RedisServer.StartAsync(cancellationToken);
                farm.RedisConfiguration = farm.Redis.Configuration;
            }
            else
            {
                farm.RedisConfiguration = options.Redis;
            }

            farm._emulatorProcess = ChildProcess.StartStorm(
                "emulator",
                [
                    "--emulator",
                    "--users", options.Users.ToString(CultureInfo.InvariantCulture),
                    "--token-lifetime-seconds", options.TokenLifetime.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                    // Applied once the users are signed in (SignInAllAsync): sign-in's identity query is a GraphQL
                    // call too, and a token killed there fails that sign-in rather than exercising the farm.
                    "--early-invalidation-rate", "0",
                    "--token-latency-ms", ((int)options.TokenLatency.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                ],
                stormAssemblyPath: options.StormAssemblyPath);
            var emulatorAddress = new Uri(await farm._emulatorProcess.WaitForLineAsync(ReadyPrefix, StartTimeout, cancellationToken));
            farm.Emulator = new EmulatorClient(farm._control, emulatorAddress);
            farm.PersonIds = [.. (await farm._emulatorProcess.WaitForLineAsync("storm-users: ", StartTimeout, cancellationToken)).Split(',')];
            if (options.ProxyGraphQL)
            {
                farm.GraphQLProxy = await RejectingGraphQLProxy.StartAsync(emulatorAddress, cancellationToken);
            }

            await Task.WhenAll(Enumerable.Range(0, options.Instances).Select(_ => farm.StartInstanceAsync(cancellationToken)));
            farm._instances.Sort((a, b) => a.Number.CompareTo(b.Number));
            return farm;
        }
        catch
        {
            await farm.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more instance and waits until it listens.</summary>
    public Task<StormInstance> StartInstanceAsync(CancellationToken cancellationToken = default) =>
        StartInstanceAsync(null, null, cancellationToken);

    /// <summary>
    /// Starts one more instance with <paramref name="configuration"/> on top of the farm's
    /// <see cref="StormFarmOptions.InstanceConfiguration"/>, connecting to Redis through
    /// <paramref name="redisConfiguration"/> (a proxy, say) instead of <see cref="RedisConfiguration"/>.
    /// </summary>
    public async Task<StormInstance> StartInstanceAsync(
        IReadOnlyDictionary<string, string>? configuration,
        string? redisConfiguration,
        CancellationToken cancellationToken = default)
    {
        var number = Interlocked.Increment(ref _instanceCount);
        var arguments = new List<string>
        {
            "--instance",
            "--emulator-url", Emulator.BaseAddress.ToString(),
            "--redis", redisConfiguration ?? RedisConfiguration,
        };
        if (GraphQLProxy is not null)
        {
            arguments.Add("--graphql-url");
            arguments.Add(GraphQLProxy.BaseAddress.ToString());
        }

        var merged = new Dictionary<string, string>(_options.InstanceConfiguration, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        foreach (var (key, value) in merged)
        {
            arguments.Add("--config-" + key.Replace(':', '.'));
            arguments.Add(value);
        }

        var process = ChildProcess.StartStorm($"instance {number}", arguments, stormAssemblyPath: _options.StormAssemblyPath);
        StormInstance instance;
        try
        {
            instance = new StormInstance(number, new Uri(await process.WaitForLineAsync(ReadyPrefix, StartTimeout, cancellationToken)), process);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        lock (_instances)
        {
            _instances.Add(instance);
        }

        return instance;
    }

    /// <summary>Kills <paramref name="instance"/> at once (SIGKILL: no shutdown hook, no lock release) and forgets it.</summary>
    public async Task KillAsync(StormInstance instance)
    {
        instance.Process.Kill();
        await instance.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        lock (_instances)
        {
            _instances.Remove(instance);
        }

        _killed.Add(instance);
    }

    /// <summary>
    /// Signs the load users in, each through an instance in turn, a few at a time; then switches the emulator's early
    /// invalidation on at <see cref="StormFarmOptions.EarlyInvalidationRate"/>.
    /// </summary>
    public async Task<IReadOnlyList<StormUser>> SignInAllAsync(CancellationToken cancellationToken = default)
    {
        var users = new StormUser[PersonIds.Count];
        await Parallel.ForAsync(
            0,
            PersonIds.Count,
            new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, ct) => users[i] = await StormClient.SignInAsync(Instances[i % Instances.Count], PersonIds[i], ct));
        if (_options.EarlyInvalidationRate > 0)
        {
            await Emulator.ConfigureAsync(new { earlyInvalidationRate = _options.EarlyInvalidationRate }, cancellationToken);
        }

        return users;
    }

    /// <summary>Gets the last output lines of every process the farm started, for failure reports.</summary>
    public string DescribeProcesses()
    {
        var text = new StringBuilder();
        if (_emulatorProcess is not null)
        {
            text.AppendLine($"--- emulator (pid {_emulatorProcess.Id}) ---").Append(_emulatorProcess.Output);
        }

        foreach (var instance in _instances.Concat(_killed))
        {
            text.AppendLine($"--- {instance}{(instance.Process.HasExited ? ", exited" : string.Empty)} ---").Append(instance.Process.Output);
        }

        if (Redis is not null)
        {
            text.AppendLine($"--- redis-server:{Redis.Port} ---").Append(Redis.Output);
        }

        text.Append(RedisCluster?.Describe());
        text.Append(RedisSentinel?.Describe());

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        var processes = _instances.Concat(_killed).Select(i => i.Process).ToList();
        if (_emulatorProcess is not null)
        {
            processes.Add(_emulatorProcess);
        }

        await Task.WhenAll(processes.Select(p => p.DisposeAsync().AsTask()));
        if (GraphQLProxy is not null)
        {
            await GraphQLProxy.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        if (RedisCluster is not null)
        {
            await RedisCluster.DisposeAsync();
        }

        if (RedisSentinel is not null)
        {
            await RedisSentinel.DisposeAsync();
        }

        _control.Dispose();
    }
}

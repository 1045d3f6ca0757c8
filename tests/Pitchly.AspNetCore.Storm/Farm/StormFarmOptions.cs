namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>What a <see cref="StormFarm"/> starts.</summary>
public sealed record StormFarmOptions
{
    /// <summary>Gets how many app instances (separate processes) to start.</summary>
    public int Instances { get; init; } = 3;

    /// <summary>Gets how many load users the emulator generates ("Load User 1…N").</summary>
    public int Users { get; init; } = 20;

    /// <summary>Gets the lifetime of the access tokens the emulator issues.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets the chance that the emulator invalidates a still-valid access token just before a GraphQL request checks it
    /// (Pitchly may revoke tokens early): each one is answered as invalid, refreshed and replayed. It applies from the
    /// end of <see cref="StormFarm.SignInAllAsync"/>, so sign-ins are not subject to it.
    /// </summary>
    public double EarlyInvalidationRate { get; init; }

    /// <summary>Gets how long the emulator's token endpoint takes to answer (its GraphQL endpoint is not slowed).</summary>
    public TimeSpan TokenLatency { get; init; }

    /// <summary>Gets an existing Redis (<c>host:port</c>); <see langword="null"/> starts a throwaway <c>redis-server</c>.</summary>
    public string? Redis { get; init; }

    /// <summary>Gets the number of primaries of a throwaway Redis Cluster to start instead of one <c>redis-server</c> (0: none).</summary>
    public int RedisClusterPrimaries { get; init; }

    /// <summary>
    /// Gets whether to start a throwaway <see cref="RedisSentinelGroup"/> (a primary, two replicas, three sentinels)
    /// instead of one <c>redis-server</c>; the instances connect through the sentinels.
    /// </summary>
    public bool RedisSentinel { get; init; }

    /// <summary>
    /// Gets configuration given to every instance as <c>--config key=value</c> (for example
    /// <c>Pitchly:Redis:LockLease=00:00:02</c>), so tests can shorten leases and timeouts.
    /// </summary>
    public IReadOnlyDictionary<string, string> InstanceConfiguration { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Gets whether the instances send their GraphQL calls through a <see cref="RejectingGraphQLProxy"/>
    /// (<see cref="StormFarm.GraphQLProxy"/>) rather than straight to the emulator.
    /// </summary>
    public bool ProxyGraphQL { get; init; }

    /// <summary>Gets the harness assembly the child processes run; defaults to the one loaded.</summary>
    public string? StormAssemblyPath { get; init; }
}

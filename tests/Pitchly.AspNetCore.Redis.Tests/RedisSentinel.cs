using StormSentinelGroup = Pitchly.AspNetCore.Storm.Orchestration.RedisSentinelGroup;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real, throw-away Redis primary with two replicas and three sentinels on free loopback ports, owned by one test
/// class. Clients connect through the sentinels; failovers can be forced while they work.
/// </summary>
public sealed class RedisSentinel : IAsyncLifetime
{
    private StormSentinelGroup? _group;

    /// <summary>Gets the running group.</summary>
    public StormSentinelGroup Group => _group ?? throw new InvalidOperationException("The sentinel group has not started.");

    /// <summary>Gets the StackExchange.Redis configuration string naming the sentinels and the service.</summary>
    public string Configuration => Group.Configuration;

    /// <summary>Forces a failover and waits until the group has settled on the new primary; returns its port.</summary>
    public Task<int> FailoverAsync() => Group.FailoverAsync(TestContext.Current.CancellationToken);

    public async ValueTask InitializeAsync() => _group = await StormSentinelGroup.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_group is not null)
        {
            await _group.DisposeAsync();
        }
    }
}

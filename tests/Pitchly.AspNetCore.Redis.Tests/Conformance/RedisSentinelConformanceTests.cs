namespace Pitchly.AspNetCore.Redis.Tests.Conformance;

/// <summary>
/// The conformance kit against the Redis store and lock through Redis Sentinel (a primary, replicas whose
/// acknowledgement every write waits for, three sentinels). Beside the failover tests, not among other classes' lease timings.
/// </summary>
[Collection(nameof(SentinelFailoverCollection))]
public sealed class RedisSentinelConformanceTests(RedisSentinel sentinel) : IClassFixture<RedisSentinel>
{
    [Fact]
    public Task The_redis_store_keeps_every_rule_of_the_kit_through_sentinel() =>
        RedisFarm.VerifyStoreAsync(sentinel.Configuration, TestContext.Current.CancellationToken);

    [Fact]
    public Task The_redis_lock_keeps_every_rule_of_the_kit_through_sentinel() => RedisFarm.VerifyLockAsync(sentinel.Configuration, TestContext.Current.CancellationToken);
}

namespace Pitchly.AspNetCore.Redis.Tests.Conformance;

/// <summary>The conformance kit against the Redis store and lock on a real three-primary Redis Cluster.</summary>
public sealed class RedisClusterConformanceTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    [Fact]
    public Task The_redis_store_keeps_every_rule_of_the_kit_on_a_cluster() =>
        RedisFarm.VerifyStoreAsync(cluster.Configuration, TestContext.Current.CancellationToken);

    [Fact]
    public Task The_redis_lock_keeps_every_rule_of_the_kit_on_a_cluster() => RedisFarm.VerifyLockAsync(cluster.Configuration, TestContext.Current.CancellationToken);
}

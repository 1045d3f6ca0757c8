namespace Pitchly.AspNetCore.Redis.Tests.Conformance;

/// <summary>The conformance kit against the Redis store and lock on one real redis-server.</summary>
public sealed class RedisConformanceTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public Task The_redis_store_keeps_every_rule_of_the_kit() =>
        RedisFarm.VerifyStoreAsync(redis.Configuration, TestContext.Current.CancellationToken);

    [Fact]
    public Task The_redis_lock_keeps_every_rule_of_the_kit() => RedisFarm.VerifyLockAsync(redis.Configuration, TestContext.Current.CancellationToken);
}

namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RedisConnectionHealthTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-1", "person-1");

    [Fact]
    public async Task The_cache_is_trusted_again_only_once_every_failed_connection_is_restored()
    {
        await using var inner = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var (multiplexer, control) = ObservableMultiplexer.Wrap(inner);
        await using var provider = CreateProvider(multiplexer);
        var store = provider.GetRequiredService<RedisPitchlyTokenStore>();
        await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await store.GetAsync(User, Cancel) is not null && store.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the record is cached");

        control.Fail(ConnectionType.Interactive);
        control.Fail(ConnectionType.Subscription);
        Assert.Equal(0, store.CachedCount);

        // Announcements made while the subscription is down are lost: what is read now must not be cached.
        control.Restore(ConnectionType.Interactive);
        Assert.Equal("access-1", (await store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal(0, store.CachedCount);

        control.Restore(ConnectionType.Subscription);
        Assert.Equal("access-1", (await store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal(1, store.CachedCount);
    }

    [Fact]
    public async Task Disposing_leaves_a_supplied_multiplexer_without_its_handlers_and_subscriptions()
    {
        await using var inner = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var (multiplexer, control) = ObservableMultiplexer.Wrap(inner);
        var provider = CreateProvider(multiplexer, "detach");
        await provider.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, Cancel);
        Assert.Equal(2, control.HandlerCount);
        Assert.Equal(RedisKeyNames.BucketCount, await SubscribedChannelsAsync("detach:*"));

        await provider.DisposeAsync();

        Assert.Equal(0, control.HandlerCount);
        Assert.Equal(0, await SubscribedChannelsAsync("detach:*"));
        Assert.True(inner.IsConnected);
    }

    /// <summary>Counts the channels matching <paramref name="pattern"/> with a subscriber, sharded or classic.</summary>
    private async Task<int> SubscribedChannelsAsync(string pattern)
    {
        var classic = (RedisResult[])(await redis.AdminServer.ExecuteAsync("PUBSUB", "CHANNELS", pattern))!;
        var sharded = (RedisResult[])(await redis.AdminServer.ExecuteAsync("PUBSUB", "SHARDCHANNELS", pattern))!;
        return classic.Length + sharded.Length;
    }

    private static ServiceProvider CreateProvider(IConnectionMultiplexer multiplexer, string? keyPrefix = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(_ => multiplexer, options =>
        {
            options.KeyPrefix = keyPrefix ?? $"h{Guid.NewGuid():N}"[..12];
            options.AllowUnsharedDataProtectionKeys = true;
            options.L1MaxAge = TimeSpan.FromMinutes(10);
        });
        return services.BuildServiceProvider();
    }
}

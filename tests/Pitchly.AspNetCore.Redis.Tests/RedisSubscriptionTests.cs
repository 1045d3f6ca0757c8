using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RedisSubscriptionTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const int SubscribeFailedEventId = 3004;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-1", "person-1");

    [Fact]
    public async Task An_operation_does_not_wait_for_another_operations_subscription()
    {
        await using var inner = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var (multiplexer, control) = ObservableMultiplexer.Wrap(inner);
        var subscribing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        control.BeforeSubscribe = async () =>
        {
            subscribing.TrySetResult();
            await held.Task;
        };
        await using var provider = CreateProvider(multiplexer, new FakeTimeProvider());
        var store = provider.GetRequiredService<IPitchlyTokenStore>();
        try
        {
            var first = store.GetAsync(User, Cancel).AsTask();
            await subscribing.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);

            await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Cancel);

            Assert.False(first.IsCompleted);
            held.SetResult();
            await first.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        }
        finally
        {
            held.TrySetResult();
        }
    }

    [Fact]
    public async Task A_subscription_that_keeps_failing_is_reported_at_most_every_thirty_seconds()
    {
        await using var inner = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var (multiplexer, control) = ObservableMultiplexer.Wrap(inner);
        control.BeforeSubscribe = () => throw new RedisException("simulated subscription failure");
        var time = new FakeTimeProvider();
        await using var provider = CreateProvider(multiplexer, time);
        var store = provider.GetRequiredService<IPitchlyTokenStore>();
        var logs = provider.GetFakeLogCollector();

        for (var write = 0; write < 3; write++)
        {
            await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
            time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(1, logs.GetSnapshot().Count(record => record.Id.Id == SubscribeFailedEventId));

        time.Advance(TimeSpan.FromSeconds(1));
        await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        Assert.Equal(2, logs.GetSnapshot().Count(record => record.Id.Id == SubscribeFailedEventId));
    }

    private static ServiceProvider CreateProvider(IConnectionMultiplexer multiplexer, TimeProvider time)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddSingleton(time);
        services.AddPitchlyTokenManagement().AddRedis(_ => multiplexer, options =>
        {
            options.KeyPrefix = $"s{Guid.NewGuid():N}"[..12];
            options.AllowUnsharedDataProtectionKeys = true;
        });
        return services.BuildServiceProvider();
    }
}

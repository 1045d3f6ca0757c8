using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>Counts the messages published on one record's bucket channel, as every instance receives them.</summary>
internal sealed class ChannelMessageCounter : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _multiplexer;
    private int _received;

    private ChannelMessageCounter(ConnectionMultiplexer multiplexer) => _multiplexer = multiplexer;

    public int Received => Volatile.Read(ref _received);

    public static async Task<ChannelMessageCounter> StartAsync(RedisServer redis, string prefix, PitchlyTokenKey key)
    {
        var counter = new ChannelMessageCounter(await ConnectionMultiplexer.ConnectAsync(redis.Configuration));
        var name = (string)new RedisKeyNames(prefix).ChannelName(RedisKeyNames.Hash(key))!;
        var sharded = counter._multiplexer.GetServers()[0].Version >= new Version(7, 0);
        await counter._multiplexer.GetSubscriber().SubscribeAsync(
            sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name),
            (_, _) => Interlocked.Increment(ref counter._received));
        return counter;
    }

    /// <summary>Waits for messages in flight, then gives those received since <paramref name="before"/> per refresh.</summary>
    public async Task<double> SettledPerAsync(int before, long refreshes)
    {
        await Task.Delay(300, TestContext.Current.CancellationToken);
        return (Received - before) / (double)refreshes;
    }

    /// <summary>Waits for messages in flight, then gives all those received since the counter started.</summary>
    public async Task<int> SettledCountAsync()
    {
        await Task.Delay(300, TestContext.Current.CancellationToken);
        return Received;
    }

    public async ValueTask DisposeAsync() => await _multiplexer.DisposeAsync();
}

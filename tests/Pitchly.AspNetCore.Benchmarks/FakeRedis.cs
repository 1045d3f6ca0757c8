using System.Reflection;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// Just enough of a Redis connection for the token store to write one record, read it back and cache it in its L1:
/// one connected Redis 6.2 server (so announcements use classic pub/sub: a proxy's boxed arguments would otherwise be
/// counted in every hit's check of its sharded subscription), scripts and hash reads answered from memory and counted,
/// subscriptions that succeed and deliver nothing. Every other call throws, so the benchmark cannot silently take a
/// path this fake does not model.
/// </summary>
public class FakeRedis : DispatchProxy
{
    private State _state = null!;

    /// <summary>Gets the number of commands that would have gone to Redis.</summary>
    public int RoundTrips => _state.RoundTrips;

    public IConnectionMultiplexer Multiplexer => _state.Multiplexer;

    public static FakeRedis Create()
    {
        var state = new State();
        state.Multiplexer = Proxy<IConnectionMultiplexer>(state);
        state.Database = Proxy<IDatabase>(state);
        state.Subscriber = Proxy<ISubscriber>(state);
        state.Server = Proxy<IServer>(state);
        return (FakeRedis)(object)state.Multiplexer;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case "GetDatabase":
                return _state.Database;
            case "get_Multiplexer":
                return _state.Multiplexer;
            case "GetSubscriber":
                return _state.Subscriber;
            case "GetServers":
                return new[] { _state.Server };
            case "get_IsConnected":
                return true;
            case "get_Version":
                return new Version(6, 2, 0);
            case "SubscribeAsync" or "UnsubscribeAsync":
                return Task.CompletedTask;
            case "add_ConnectionFailed" or "add_ConnectionRestored" or "add_HashSlotMoved"
                or "remove_ConnectionFailed" or "remove_ConnectionRestored" or "remove_HashSlotMoved":
                return null;
            case "ScriptEvaluateAsync" when args is [string, RedisKey[], RedisValue[] values, ..]:
                // The write scripts carry the protected record first; the answer is the record's new version.
                _state.RoundTrips++;
                _state.Data = values[0];
                return Task.FromResult(RedisResult.Create((RedisValue)(++_state.Version)));
            case "HashGetAsync" when args is [RedisKey, RedisValue[], ..]:
                _state.RoundTrips++;
                // v, d, and no refresh intent (fo, fd).
                return Task.FromResult(new RedisValue[] { _state.Version, _state.Data, RedisValue.Null, RedisValue.Null });
            default:
                throw new NotSupportedException($"The fake Redis connection does not model {targetMethod.DeclaringType?.Name}.{targetMethod.Name}.");
        }
    }

    private static T Proxy<T>(State state)
        where T : class
    {
        var proxy = Create<T, FakeRedis>();
        ((FakeRedis)(object)proxy)._state = state;
        return proxy;
    }

    private sealed class State
    {
        public IConnectionMultiplexer Multiplexer { get; set; } = null!;

        public IDatabase Database { get; set; } = null!;

        public ISubscriber Subscriber { get; set; } = null!;

        public IServer Server { get; set; } = null!;

        public int RoundTrips { get; set; }

        public long Version { get; set; }

        public RedisValue Data { get; set; }
    }
}

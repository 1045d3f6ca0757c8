using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>A connection multiplexer supplied by the application (<c>AddRedis(Func&lt;IServiceProvider, IConnectionMultiplexer&gt;)</c>).</summary>
internal sealed class RedisConnectionFactory(Func<IServiceProvider, IConnectionMultiplexer> create)
{
    public Func<IServiceProvider, IConnectionMultiplexer> Create { get; } = create;
}

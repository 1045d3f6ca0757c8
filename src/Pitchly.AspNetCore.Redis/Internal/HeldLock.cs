using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>A refresh lock as taken (or perhaps taken): the key it is under, and the owner value only its holder knows.</summary>
internal readonly record struct HeldLock(IDatabase Database, RedisKey LockKey, string Hash, string Owner);

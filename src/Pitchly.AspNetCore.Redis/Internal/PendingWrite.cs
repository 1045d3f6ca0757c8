using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// A write of a record's <see cref="Version"/> (0 or less: nothing written), to be confirmed with the replicas;
/// <see cref="ReplicationId"/> is the primary's replication id as read before the write.
/// </summary>
internal readonly record struct PendingWrite(string Operation, IDatabase Database, string Hash, long Version, RedisValue ReplicationId);

using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>Log messages of the Redis store and lock (event ids 3000–3099). Keys appear only hashed; no token ever.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(3000, LogLevel.Warning, "Pitchly's Redis token store could not be reached during {Operation}.")]
    public static partial void RedisUnavailable(ILogger logger, string operation, Exception exception);

    [LoggerMessage(3001, LogLevel.Information, "Connected to Redis for Pitchly token management with key prefix '{KeyPrefix}'.")]
    public static partial void Connected(ILogger logger, string keyPrefix);

    [LoggerMessage(3002, LogLevel.Warning, "The Redis connection ({ConnectionType}) failed: {FailureType}. Cached tokens can no longer hear other instances' changes.")]
    public static partial void ConnectionFailed(ILogger logger, string connectionType, string failureType);

    [LoggerMessage(3003, LogLevel.Information, "The Redis connection ({ConnectionType}) was restored; the in-process token cache was cleared because changes may have been missed.")]
    public static partial void ConnectionRestored(ILogger logger, string connectionType);

    [LoggerMessage(3004, LogLevel.Warning, "Subscribing to Redis change announcements failed; tokens are read from Redis until it succeeds.")]
    public static partial void SubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(3010, LogLevel.Warning, "Redis is unreachable; serving the cached tokens of key {KeyHash} (version {Version}) under the UseCachedTokensOnly outage policy.")]
    public static partial void ServingCachedTokensDuringOutage(ILogger logger, string keyHash, long version);

    [LoggerMessage(3011, LogLevel.Debug, "Compare-and-swap of key {KeyHash} rejected: the stored version is no longer {ExpectedVersion}.")]
    public static partial void CompareAndSwapConflict(ILogger logger, string keyHash, long expectedVersion);

    [LoggerMessage(3014, LogLevel.Debug, "The refresh intent for key {KeyHash} at version {ExpectedVersion} was refused (another owner's intent is live: {Fenced}).")]
    public static partial void RefreshIntentRefused(ILogger logger, string keyHash, long expectedVersion, bool fenced);

    [LoggerMessage(3012, LogLevel.Error, "The stored tokens of key {KeyHash} (version {Version}), a user record, could not be decrypted; the record is treated as absent and removed, so its user must sign in again. Every instance must share the same ASP.NET Core Data Protection key ring and application name (services.AddDataProtection().SetApplicationName(...).PersistKeysTo...).")]
    public static partial void RecordUndecryptable(ILogger logger, string keyHash, long version, Exception exception);

    [LoggerMessage(3020, LogLevel.Debug, "Refresh lock of key {KeyHash} acquired after {WaitMilliseconds:F1} ms.")]
    public static partial void LockAcquired(ILogger logger, string keyHash, double waitMilliseconds);

    [LoggerMessage(3021, LogLevel.Warning, "Refresh lock of key {KeyHash} not granted within {Timeout}.")]
    public static partial void LockWaitTimedOut(ILogger logger, string keyHash, TimeSpan timeout);

    [LoggerMessage(3022, LogLevel.Warning, "Refresh lock of key {KeyHash} lost while held: {Reason}.")]
    public static partial void LockLost(ILogger logger, string keyHash, string reason);

    [LoggerMessage(3023, LogLevel.Debug, "Renewing the refresh lock of key {KeyHash} failed; retrying while its lease lasts.")]
    public static partial void LockRenewalFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(3024, LogLevel.Warning, "Releasing the refresh lock of key {KeyHash} failed; it expires with its lease.")]
    public static partial void LockReleaseFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(3026, LogLevel.Debug, "Stopped waiting for the refresh lock of key {KeyHash}: the tokens stored meanwhile are what the refresh was for.")]
    public static partial void LockWaitUnneeded(ILogger logger, string keyHash);

    [LoggerMessage(3040, LogLevel.Warning, "The {Operation} of key {KeyHash} (version {Version}) was not acknowledged by a Redis replica within {Timeout}; under the {Policy} policy {Consequence}.")]
    public static partial void WriteUnacknowledged(ILogger logger, string operation, string keyHash, long version, TimeSpan timeout, PitchlyRedisUnacknowledgedWritePolicy policy, string consequence);

    [LoggerMessage(3041, LogLevel.Warning, "The {Operation} of key {KeyHash} (version {Version}) is not held by the Redis primary now serving the key (a failover came after it); it fails retryably.")]
    public static partial void WriteLostInFailover(ILogger logger, string operation, string keyHash, long version);

    [LoggerMessage(3042, LogLevel.Warning, "Confirming with Redis replicas the {Operation} of key {KeyHash} (version {Version}) failed.")]
    public static partial void ReplicaConfirmationFailed(ILogger logger, string operation, string keyHash, long version, Exception exception);

    [LoggerMessage(3043, LogLevel.Warning, "Redis refused INFO replication ({Reason}); the replication state of the primary is unknown.")]
    public static partial void ReplicationStateUnreadable(ILogger logger, string reason);

    [LoggerMessage(3025, LogLevel.Debug, "Releasing the refresh lock of key {KeyHash} failed; retrying until Redis answers or its lease ends.")]
    public static partial void LockReleaseRetried(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(3044, LogLevel.Warning, "Redis answers with more than one primary or none ({Primaries}), as while Sentinel promotes a replica; writes of tokens fail retryably until one primary is left.")]
    public static partial void SeveralPrimaries(ILogger logger, string primaries);

    [LoggerMessage(3045, LogLevel.Warning, "The replication state of Redis primary {Endpoint} is unknown: {Reason}. Writes of tokens count as not acknowledged by a replica (under the {Policy} policy), since a failover could promote a replica without them. If this deployment has no replicas, set Pitchly:Redis:AssumeNoReplicas to true.")]
    public static partial void ReplicationStateUnknown(ILogger logger, string endpoint, string reason, PitchlyRedisUnacknowledgedWritePolicy policy);

    [LoggerMessage(3046, LogLevel.Error, "This instance cannot decrypt the Data Protection key check ({CanaryKey}) that the first instance sharing this Redis store wrote: it does not share their key ring or application name, so it could read none of their tokens. Give every instance the same services.AddDataProtection().SetApplicationName(...) and the same persisted key ring (PersistKeysTo...).")]
    public static partial void DataProtectionCanaryUnreadable(ILogger logger, string canaryKey, Exception? exception);

    [LoggerMessage(3047, LogLevel.Information, "Wrote the Data Protection key check {CanaryKey}: instances sharing this Redis store must be able to decrypt it.")]
    public static partial void DataProtectionCanaryWritten(ILogger logger, string canaryKey);

    [LoggerMessage(3048, LogLevel.Warning, "The Data Protection key check could not be made at start-up, as Redis could not be reached; until it is, records that cannot be decrypted are kept rather than removed.")]
    public static partial void DataProtectionCanaryUnchecked(ILogger logger, Exception exception);

    [LoggerMessage(3049, LogLevel.Error, "The stored tokens of key {KeyHash} (version {Version}, a {Kind} record) could not be decrypted; the record is kept and the read fails retryably. {Cause}")]
    public static partial void RecordUndecryptableKept(ILogger logger, string keyHash, long version, PitchlyTokenKind kind, string cause, Exception exception);

    [LoggerMessage(3050, LogLevel.Warning, "Replaced the Data Protection key check {CanaryKey}, which this instance cannot decrypt, because Pitchly:Redis:AllowUnsharedDataProtectionKeys is true; records written with the former keys cannot be read.")]
    public static partial void DataProtectionCanaryReplaced(ILogger logger, string canaryKey);

    [LoggerMessage(3030, LogLevel.Information, "Redis change announcements use {Mode} pub/sub.")]
    public static partial void AnnouncementMode(ILogger logger, string mode);

    [LoggerMessage(3031, LogLevel.Information, "A Redis Cluster hash slot moved ({Cause}); the in-process token cache was cleared and is bypassed until every announcement channel is subscribed where its slot now lives.")]
    public static partial void SlotMoved(ILogger logger, string cause);
}

namespace Pitchly.AspNetCore.Redis;

/// <summary>
/// Settings of web-farm mode (the Redis token store and refresh lock), bound from the <c>Pitchly:Redis</c>
/// configuration section; settings made in code win over configuration.
/// </summary>
public sealed class PitchlyRedisOptions
{
    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string, for example <c>localhost:6379</c> or
    /// <c>redis.internal:6380,ssl=true,password=…</c>. Not needed when <see cref="ConnectionStringName"/> is set or a
    /// connection multiplexer is supplied.
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Gets or sets the name of a connection string (<c>ConnectionStrings:{name}</c> in configuration) holding the
    /// StackExchange.Redis configuration string; used when <see cref="Configuration"/> is not set.
    /// </summary>
    public string? ConnectionStringName { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every Redis key and channel this package uses (default <c>pitchly</c>); give each
    /// application sharing a Redis database its own prefix. It must not contain <c>{</c> or <c>}</c>: each key carries a
    /// Redis Cluster hash tag of its own right after the prefix.
    /// </summary>
    public string KeyPrefix { get; set; } = "pitchly";

    /// <summary>
    /// Gets or sets how long a refresh lock is held without renewal (default 10 seconds). The holder renews it every third
    /// of the lease while it is held, so the lease bounds only how long a crashed holder blocks others.
    /// </summary>
    public TimeSpan LockLease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how long a refresh waits for the lock before failing with a <see cref="PitchlyRefreshLockTimeoutException"/>
    /// (default 15 seconds).
    /// </summary>
    public TimeSpan LockWaitTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Gets or sets how often a waiter retries the lock when it has heard no release (default 100 ms); releases are
    /// announced by pub/sub, so this only bounds the wait when an announcement is lost or a holder's lease expires.
    /// </summary>
    public TimeSpan LockPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Gets or sets how long a record lives after its last write (default 30 days). Pitchly's refresh tokens do not
    /// expire by time, but the records of users who never come back should not live for ever; every sign-in and
    /// refresh starts the period again, and a user whose record expired signs in again.
    /// </summary>
    public TimeSpan RecordTimeToLive { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Gets or sets how long a record read from Redis is served from this instance's memory (default 30 seconds).
    /// Other instances' writes evict it at once by pub/sub; this age bounds staleness only if an announcement is lost.
    /// <see cref="TimeSpan.Zero"/> turns the in-process cache off (every read goes to Redis).
    /// </summary>
    public TimeSpan L1MaxAge { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many records this instance's memory holds at most (default 1 000 000), an additional bound to
    /// <see cref="L1MaxBytes"/>, which is the one to size the cache by. When either bound is reached, caching a record
    /// evicts others (those not served lately first); reads never go without caching because the cache is full.
    /// </summary>
    public int L1MaxEntries { get; set; } = 1_000_000;

    /// <summary>
    /// Gets or sets the memory budget of this instance's in-process cache, in bytes (default 268 435 456, 256 MiB).
    /// Each record is counted at an estimate of what it takes: two bytes a character of its tokens, scope,
    /// organization, sessions and key, plus about 600 bytes of objects and index entries. The default holds 100 000
    /// records of up to 2 684 bytes each — access and refresh tokens of together about 900 characters; a full cache
    /// evicts the records not served lately to make room.
    /// </summary>
    public long L1MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Gets or sets what happens while Redis cannot be reached (default <see cref="PitchlyRedisOutagePolicy.FailFast"/>).</summary>
    public PitchlyRedisOutagePolicy OutagePolicy { get; set; } = PitchlyRedisOutagePolicy.FailFast;

    /// <summary>
    /// Gets or sets how long connecting to Redis may take (default 3 seconds). Applies to connections this package
    /// opens, not to a supplied connection multiplexer.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Gets or sets how long one Redis command may take before it fails (default 2 seconds). Applies to connections this
    /// package opens, which also fail commands at once while disconnected rather than queueing them.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets how long a write of tokens (a sign-in, a refresh intent, refreshed tokens) waits for the replicas of
    /// the Redis primary to acknowledge it (default 1 second), so that a failover cannot roll the record back to a refresh
    /// token Pitchly has already spent. Every replica seen streaming within the last minute must have the write; a
    /// deployment known to have no replicas never waits, and one whose replication state is unknown counts the write as
    /// not acknowledged (see <see cref="AssumeNoReplicas"/>).
    /// <see cref="TimeSpan.Zero"/> turns the wait off. What a write does when no replica acknowledges it in time is
    /// <see cref="UnacknowledgedWritePolicy"/>.
    /// </summary>
    public TimeSpan ReplicaAcknowledgementTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets what a write of tokens does when no replica acknowledged it within
    /// <see cref="ReplicaAcknowledgementTimeout"/> (default <see cref="PitchlyRedisUnacknowledgedWritePolicy.FailRetryably"/>).
    /// </summary>
    public PitchlyRedisUnacknowledgedWritePolicy UnacknowledgedWritePolicy { get; set; } = PitchlyRedisUnacknowledgedWritePolicy.FailRetryably;

    /// <summary>
    /// Gets or sets a value indicating whether the Redis deployment has no replicas (default <see langword="false"/>).
    /// </summary>
    /// <remarks>
    /// <para>
    /// A write of tokens counts as done once every replica of the primary has acknowledged it. When the replication state
    /// cannot be known — <c>INFO</c> refused (a managed service's ACLs), a primary just promoted by a failover whose
    /// replicas have not re-attached, a primary that had replicas lately and has none streaming now, replicas seen
    /// earlier by this instance — the write counts as not acknowledged, and <see cref="UnacknowledgedWritePolicy"/>
    /// applies (by default it fails retryably). Only a primary that says it has never had a replica (no replica listed,
    /// never promoted, no replication backlog) and that this instance has never seen with one counts as having none.
    /// </para>
    /// <para>
    /// Set this to <see langword="true"/> only when the deployment really has no replicas and its replication state
    /// cannot be read (for example a single-node managed Redis that refuses <c>INFO</c>): writes then count as done on
    /// the primary whenever no replica is seen. Replicas that are seen streaming are still waited for.
    /// </para>
    /// </remarks>
    public bool AssumeNoReplicas { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the store may run with ASP.NET Core Data Protection keys that are not
    /// persisted to a shared repository, or that cannot read the key check the first instance left in Redis (default
    /// <see langword="false"/>). Leave it <see langword="false"/> in a web farm: other instances could not decrypt the
    /// tokens. Set it only when a single instance uses the store, for example in development; start-up then logs a key
    /// check it cannot read and replaces it instead of failing.
    /// </summary>
    public bool AllowUnsharedDataProtectionKeys { get; set; }
}

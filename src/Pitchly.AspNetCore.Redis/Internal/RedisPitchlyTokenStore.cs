using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The web-farm token store: one Redis hash per key (<c>v</c> = version in plaintext for the Lua scripts, <c>d</c> =
/// the record encrypted with Data Protection, purpose bound to the key), with an in-process cache (L1) in front.
/// A removal leaves a tombstone (only <c>v</c>), read as absent, so that versions keep rising for the key.
/// </summary>
/// <remarks>
/// A write protects the record (<see cref="RedisRecordProtector"/>), runs its script (which announces the new version to
/// every instance, this one included), drops this instance's cached copy (<see cref="L1RecordCache"/>), then confirms
/// the write with the replicas (<see cref="ReplicatedWrites"/>): the copy goes first, so a write that fails for want of
/// a replica leaves no stale copy behind. Announcements evict other instances' copies and wake their waiters
/// (<see cref="RedisChangeWaiters"/>).
/// </remarks>
internal sealed class RedisPitchlyTokenStore : IPitchlyTokenStore, IHeldRecordStore, ITokenChangeSignal, IDisposable
{
    private static readonly RedisValue[] RecordFields = ["v", "d", "fo", "fd"];

    private readonly RedisConnection _connection;
    private readonly RedisRecordProtector _protector;
    private readonly L1RecordCache _cache;
    private readonly ReplicatedWrites _writes;
    private readonly RedisChangeWaiters _waiters;
    private readonly RedisFailureReporter _failures;
    private readonly DataProtectionCanary _canary;
    private readonly ILogger _logger;
    private readonly long _timeToLiveMilliseconds;
    private readonly ITimer? _sweepTimer;

    public RedisPitchlyTokenStore(
        RedisConnection connection,
        ReplicaAcknowledgement acknowledgement,
        IDataProtectionProvider dataProtectionProvider,
        DataProtectionCanary canary,
        PitchlyMetrics metrics,
        TimeProvider timeProvider,
        ILogger<RedisPitchlyTokenStore> logger)
    {
        var options = connection.Options;
        _connection = connection;
        _logger = logger;
        _failures = new RedisFailureReporter(metrics, logger);
        _canary = canary;
        _protector = new RedisRecordProtector(dataProtectionProvider);
        _cache = new L1RecordCache(connection, timeProvider, metrics);
        _writes = new ReplicatedWrites(connection, acknowledgement, _failures, metrics, timeProvider, logger);
        _waiters = new RedisChangeWaiters(timeProvider);
        _timeToLiveMilliseconds = (long)options.RecordTimeToLive.TotalMilliseconds;
        connection.RecordChanged += OnRecordChanged;
        if (options.L1MaxAge > TimeSpan.Zero)
        {
            var period = options.L1MaxAge < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : options.L1MaxAge;
            _sweepTimer = timeProvider.CreateTimer(static state => ((RedisPitchlyTokenStore)state!).Sweep(), this, period, period);
        }
    }

    /// <summary>Gets the number of records cached in this instance (for tests and diagnostics).</summary>
    internal int CachedCount => _cache.Count;

    /// <summary>Gets the estimated bytes of the records cached in this instance (for tests and diagnostics).</summary>
    internal long CachedBytes => _cache.Bytes;

    /// <summary>Gets the number of keys this instance's callers wait on for a change (for tests).</summary>
    internal int ChangeWaiterCount => _waiters.Count;

    /// <summary>Gets the unacknowledged writes remembered for their retries (for tests).</summary>
    internal ReplicatedWrites Writes => _writes;

    /// <summary>Gets this instance's cache (for tests).</summary>
    internal L1RecordCache Cache => _cache;

    /// <summary>Gets the number of key hashes remembered for cached records (for tests).</summary>
    internal int RememberedHashCount => _cache.RememberedHashCount;

    /// <summary>Lets tests pause a read as it caches its result, to reproduce races with evictions.</summary>
    internal Func<CacheInsertStage, Task>? CacheInsertHook
    {
        get => _cache.InsertHook;
        set => _cache.InsertHook = value;
    }

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _cache.TryGet(key) is { } cached
            ? ValueTask.FromResult<PitchlyTokenRecord?>(cached)
            : ReadAsync(key, _cache.HashOf(key), cancellationToken);
    }

    /// <inheritdoc />
    // The L1 measures an entry's age on the monotonic clock (GetTimestamp), not the caller's wall-clock reading.
    public HeldRecord? TryGetHeld(PitchlyTokenKey key, DateTimeOffset now) => _cache.TryGetHeld(key);

    /// <inheritdoc />
    public ValueTask<PitchlyTokenRecord?> GetUnheldAsync(PitchlyTokenKey key, CancellationToken cancellationToken) => ReadAsync(key, _cache.HashOf(key), cancellationToken);

    public void Dispose()
    {
        _sweepTimer?.Dispose();
        _writes.Dispose();
    }

    public async ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var hash = _cache.HashOf(key);
        var data = _protector.Protect(key, record);
        var (result, written) = await EvaluateWriteAsync(
            "write",
            RedisScripts.Set,
            hash,
            consumesLockMarks: true,
            () => [data, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            static result => (long)result,
            cancellationToken);
        _cache.Evict(hash);
        await _writes.AcknowledgeAsync(written);
        return record with { Version = (long)result, RefreshIntent = null };
    }

    public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var hash = _cache.HashOf(key);
        var data = _protector.Protect(key, record);
        var (result, written) = await EvaluateWriteAsync(
            "compare-and-swap write",
            RedisScripts.CompareAndSwap,
            hash,
            consumesLockMarks: true,
            () => [expectedVersion, data, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            static result => (long)result,
            cancellationToken);
        _cache.Evict(hash);
        var version = (long)result;
        if (version == 0)
        {
            if (await _writes.TryConfirmEarlierWriteAsync(hash, expectedVersion, cancellationToken) is { } earlier)
            {
                return record with { Version = earlier, RefreshIntent = null };
            }

            // Counted by the token manager, which owns pitchly.store.cas_conflicts for every store.
            RedisLog.CompareAndSwapConflict(_logger, hash, expectedVersion);
            return null;
        }

        await _writes.AcknowledgeCompareAndSwapAsync(written, expectedVersion);
        return record with { Version = version, RefreshIntent = null };
    }

    public async ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expectedVersion);
        var hash = _cache.HashOf(key);

        // The record the intent is written into: the caller read it at this version, so the script's version check
        // guarantees these are the tokens it fences (read before the script, which then changes nothing else).
        var read = await GetAsync(key, cancellationToken);
        if (read is null || read.Version != expectedVersion)
        {
            return null;
        }

        var (evaluated, written) = await EvaluateWriteAsync(
            "refresh intent",
            RedisScripts.BeginRefresh,
            hash,
            consumesLockMarks: false,
            () => [expectedVersion, owner, (long)Math.Ceiling(lifetime.TotalMilliseconds)],
            static result => (long)((RedisResult[])result!)[0],
            cancellationToken);
        _cache.Evict(hash);
        var result = (RedisResult[])evaluated!;
        var version = (long)result[0];
        if (version <= 0)
        {
            RedisLog.RefreshIntentRefused(_logger, hash, expectedVersion, version < 0);
            return null;
        }

        // The refresh token is presented only once the intent would survive a failover: a promoted replica without it
        // would let another owner present the same refresh token.
        await _writes.AcknowledgeAsync(written);

        return read with { Version = version, RefreshIntent = new PitchlyRefreshIntent(owner, DateTimeOffset.FromUnixTimeMilliseconds((long)result[1])) };
    }

    public async ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = _cache.HashOf(key);
        var expected = expectedVersion is { } version ? version.ToString(CultureInfo.InvariantCulture) : string.Empty;
        var result = await _failures.RunAsync("a removal", async () =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);

            // Arguments made once connected, as they include the publish mode (RedisConnection.PublishMode), known
            // from then on.
            return await database.ScriptEvaluateAsync(
                RedisScripts.Remove,
                [_connection.Names.Record(hash), _connection.Names.LockWaiters(hash)],
                [expected, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode]);
        });
        _cache.Evict(hash);
        return (long)result == 1;
    }

    public async Task WaitForChangeAsync(PitchlyTokenKey key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);

        // Shared by every waiter of the key in this instance.
        await _waiters.WaitAsync(_cache.HashOf(key), timeout, cancellationToken);
    }

    /// <summary>
    /// Drops this instance's cached copy of <paramref name="key"/>, so the next read goes to Redis. The refresh lock
    /// calls it on acquisition: the re-read that follows must see the latest record, not a cached one.
    /// </summary>
    internal void EvictLocalCopy(PitchlyTokenKey key) => _cache.Evict(_cache.HashOf(key));

    private async ValueTask<PitchlyTokenRecord?> ReadAsync(PitchlyTokenKey key, string hash, CancellationToken cancellationToken)
    {
        L1RecordCache.ReadStart started;
        RedisValue[] fields;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            started = _cache.BeginRead(hash);
            fields = await database.HashGetAsync(_connection.Names.Record(hash), RecordFields);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            if (_cache.OutageFallback(hash) is { } fallback)
            {
                _failures.ServingCachedTokens(hash, fallback.Version);
                return fallback;
            }

            throw _failures.Unavailable("a read", exception);
        }

        if (fields[0].IsNull || fields[1].IsNull)
        {
            return null;
        }

        var version = (long)fields[0];
        if (_protector.TryUnprotect(key, (byte[])fields[1]!, out var failure) is not { } payload)
        {
            await OnUndecryptableAsync(key, hash, version, failure!, cancellationToken);
            return null;
        }

        var intent = fields[2].IsNull || fields[3].IsNull
            ? null
            : new PitchlyRefreshIntent(fields[2].ToString(), DateTimeOffset.FromUnixTimeMilliseconds((long)fields[3]));
        var record = payload.ToRecord(version, intent);
        await _cache.AddAsync(key, started, record);
        return record;
    }

    /// <summary>
    /// Runs a script that writes the record of <paramref name="hash"/>; <paramref name="writtenVersion"/> reads the
    /// version it wrote from its result (0 or less: nothing written). Its arguments are made once connected, as they
    /// include the publish mode (<see cref="RedisConnection.PublishMode"/>), known from then on. The write is confirmed
    /// with the replicas by <see cref="ReplicatedWrites"/>, after the caller has dropped its cached copy. A script whose
    /// announcement wakes the waiters of the key's refresh lock (<paramref name="consumesLockMarks"/>) is given the lock's
    /// waiter mark to delete, in the record's cluster slot.
    /// </summary>
    private ValueTask<(RedisResult Result, PendingWrite Written)> EvaluateWriteAsync(
        string operation,
        string script,
        string hash,
        bool consumesLockMarks,
        Func<RedisValue[]> values,
        Func<RedisResult, long> writtenVersion,
        CancellationToken cancellationToken)
    {
        var record = _connection.Names.Record(hash);
        RedisKey[] keys = consumesLockMarks ? [record, _connection.Names.LockWaiters(hash)] : [record];
        return _failures.RunAsync("a " + operation, async () =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            var replicationId = await _writes.BeforeWriteAsync(database, record);
            var result = await database.ScriptEvaluateAsync(script, keys, values());
            return (result, new PendingWrite(operation, database, hash, writtenVersion(result), replicationId));
        });
    }

    /// <summary>
    /// Decides what a record that cannot be decrypted becomes. An install record is never removed: no sign-in restores
    /// it, and the likeliest cause is this instance's Data Protection configuration, not the record; the read fails
    /// retryably. A user record is treated as absent and removed (the user signs in again instead of every call failing)
    /// only once the key check (<see cref="DataProtectionCanary"/>) has shown that this instance shares the key ring of
    /// the others; until then it is kept and the read fails retryably too.
    /// </summary>
    private async ValueTask OnUndecryptableAsync(PitchlyTokenKey key, string hash, long version, Exception failure, CancellationToken cancellationToken)
    {
        string? cause = null;
        if (key.Kind == PitchlyTokenKind.Install)
        {
            cause = "Install records are never removed for this, since no sign-in restores them.";
        }
        else
        {
            DataProtectionCanary.Verdict verdict;
            try
            {
                verdict = await _canary.CheckAsync(cancellationToken);
            }
            catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
            {
                verdict = DataProtectionCanary.Verdict.Unchecked;
            }

            if (verdict == DataProtectionCanary.Verdict.Foreign)
            {
                cause = "This instance cannot read the Data Protection key check either: it does not share the other instances' application name or key ring.";
            }
            else if (verdict == DataProtectionCanary.Verdict.Unchecked)
            {
                cause = "Whether this instance shares the other instances' Data Protection keys could not be checked yet.";
            }
        }

        if (cause is not null)
        {
            RedisLog.RecordUndecryptableKept(_logger, hash, version, key.Kind, cause, failure);
            throw new PitchlyRedisRecordUndecryptableException(
                $"The stored tokens of key {hash} could not be decrypted with this instance's Data Protection keys; the record was kept. "
                + "Every instance must use the same application name (services.AddDataProtection().SetApplicationName(...)) and the "
                + "same persisted key ring. Retry once the configuration is fixed.",
                failure);
        }

        // Undecryptable is absent: the user signs in again instead of every call failing. The removal is a
        // compare-and-delete on the version read, so a record written since then is kept.
        RedisLog.RecordUndecryptable(_logger, hash, version, failure);
        try
        {
            await RemoveAsync(key, version, cancellationToken);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            // Already logged; the record is still absent to this read, and the next read tries the removal again.
        }
    }

    private void OnRecordChanged(string hash, long version)
    {
        // The stale copy goes before the waiters wake, so their read goes to Redis (the refresh lock's waiters, woken by
        // the same announcement, hear it after this: the store subscribed first).
        _cache.OnRecordChanged(hash, version);
        _waiters.Signal(hash);
    }

    private void Sweep() => _cache.Sweep();
}

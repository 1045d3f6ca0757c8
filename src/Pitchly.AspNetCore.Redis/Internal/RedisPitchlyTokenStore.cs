using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
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
/// <para>
/// The L1 answers <see cref="GetAsync"/> without a round trip. It stays honest because every write announces
/// <c>{hash}:{version}</c> and every instance evicts a cached copy of another version; because it is trusted only
/// while the connection (and so the subscription) is healthy and cleared when it is restored; and because entries are
/// re-read after <see cref="PitchlyRedisOptions.L1MaxAge"/> in case an announcement was lost.
/// </para>
/// <para>
/// A read that raced with an announcement must not cache what it read: each group of keys has an epoch that every
/// eviction increments, and a read caches its result only if its group's epoch did not move while it ran. The entry
/// is added unconfirmed (never served), the epoch is checked again, and only then is the entry confirmed; otherwise
/// it is removed. An eviction (an announcement, or acquiring the refresh lock) that comes while a read is in flight
/// therefore always wins, even if the read was pre-empted between its checks and its insert.
/// </para>
/// <para>
/// The L1 is keyed by the hash, as announcements are. So that a hit costs no SHA-256, the hash of each key with a
/// cached entry is remembered by <see cref="PitchlyTokenKey.Value"/>, added and dropped with that entry. The hash of a
/// key never changes, so a remembered hash can be missing or outlive its entry but never be wrong: it affects only
/// the cost of a lookup, not what the L1 answers.
/// </para>
/// <para>
/// Entries hold decrypted refresh tokens, so none outlives its use: an entry older than
/// <see cref="PitchlyRedisOptions.L1MaxAge"/> is dropped when looked up and by a sweep every <c>L1MaxAge</c> (at least
/// a second), and the cache holds at most <see cref="PitchlyRedisOptions.L1MaxEntries"/>. Under
/// <see cref="PitchlyRedisOutagePolicy.UseCachedTokensOnly"/> an entry is kept until its access token expires, as the
/// outage fallback.
/// </para>
/// </remarks>
internal sealed class RedisPitchlyTokenStore : IPitchlyTokenStore, ITokenChangeSignal, IDisposable
{
    private const string ProtectorPurpose = "Pitchly.AspNetCore.TokenStore";
    private const int EpochGroups = 64;
    private static readonly RedisValue[] RecordFields = ["v", "d", "fo", "fd"];

    private readonly RedisConnection _connection;
    private readonly ReplicaAcknowledgement _acknowledgement;
    private readonly IDataProtector _protector;
    private readonly PitchlyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PitchlyRedisOptions _options;
    private readonly ConcurrentDictionary<string, CachedRecord> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _hashByKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _changeWaiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Hash, long ExpectedVersion), (long Version, long WrittenAt)> _unacknowledged = new();
    private readonly long[] _epochs = new long[EpochGroups];
    private readonly long _timeToLiveMilliseconds;
    private readonly ITimer? _sweepTimer;
    private int _sweeping;

    public RedisPitchlyTokenStore(
        RedisConnection connection,
        ReplicaAcknowledgement acknowledgement,
        IDataProtectionProvider dataProtectionProvider,
        PitchlyMetrics metrics,
        TimeProvider timeProvider,
        ILogger<RedisPitchlyTokenStore> logger)
    {
        _connection = connection;
        _acknowledgement = acknowledgement;
        _options = connection.Options;
        _protector = dataProtectionProvider.CreateProtector(ProtectorPurpose);
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _timeToLiveMilliseconds = (long)_options.RecordTimeToLive.TotalMilliseconds;
        connection.RecordChanged += OnRecordChanged;
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += ClearCache;
        connection.AnnouncementsInterrupted += ClearCache;
        if (_options.L1MaxAge > TimeSpan.Zero)
        {
            var period = _options.L1MaxAge < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : _options.L1MaxAge;
            _sweepTimer = timeProvider.CreateTimer(static state => ((RedisPitchlyTokenStore)state!).Sweep(), this, period, period);
        }
    }

    /// <summary>Gets the number of records cached in this instance (for tests and diagnostics).</summary>
    internal int CachedCount => _cache.Count;

    /// <summary>Gets the number of key hashes remembered for cached records (for tests).</summary>
    internal int RememberedHashCount => _hashByKey.Count;

    /// <summary>Lets tests pause a read as it caches its result, to reproduce races with evictions.</summary>
    internal Func<CacheInsertStage, Task>? CacheInsertHook { get; set; }

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = HashOf(key);
        if (_cache.TryGetValue(hash, out var cached))
        {
            if (_connection.AnnouncementsReliableFor(hash)
                && cached.Confirmed
                && _timeProvider.GetElapsedTime(cached.CachedAt) < _options.L1MaxAge)
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(cached.Record);
            }

            RemoveIfExpired(hash, cached);
        }

        return ReadAsync(key, hash, cancellationToken);
    }

    public void Dispose() => _sweepTimer?.Dispose();

    public async ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var hash = HashOf(key);
        var data = Protect(key, record);
        var (result, written) = await EvaluateWriteAsync(
            "write",
            RedisScripts.Set,
            hash,
            () => [data, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            static result => (long)result,
            cancellationToken);
        Evict(hash);
        await AcknowledgeAsync(written);
        return record with { Version = (long)result };
    }

    public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var hash = HashOf(key);
        var data = Protect(key, record);
        var (result, written) = await EvaluateWriteAsync(
            "compare-and-swap write",
            RedisScripts.CompareAndSwap,
            hash,
            () => [expectedVersion, data, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            static result => (long)result,
            cancellationToken);
        Evict(hash);
        var version = (long)result;
        if (version == 0)
        {
            if (await TryConfirmEarlierWriteAsync(hash, expectedVersion, cancellationToken) is { } earlier)
            {
                return record with { Version = earlier };
            }

            // Counted by the token manager, which owns pitchly.store.cas_conflicts for every store.
            RedisLog.CompareAndSwapConflict(_logger, hash, expectedVersion);
            return null;
        }

        var outcome = await ConfirmAsync(written);
        if (outcome == ReplicaAcknowledgementOutcome.Unacknowledged && _options.UnacknowledgedWritePolicy == PitchlyRedisUnacknowledgedWritePolicy.FailRetryably)
        {
            // The primary holds the write: a retry of the same compare-and-swap finds it there, and succeeds once a
            // replica has it too, instead of failing as a conflict with the writer's own tokens.
            _unacknowledged[(hash, expectedVersion)] = (version, _timeProvider.GetTimestamp());
        }
        else
        {
            _unacknowledged.TryRemove((hash, expectedVersion), out _);
        }

        Enforce(written, outcome);
        return record with { Version = version };
    }

    public async ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expectedVersion);
        var hash = HashOf(key);

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
            () => [expectedVersion, owner, (long)Math.Ceiling(lifetime.TotalMilliseconds), _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            static result => (long)((RedisResult[])result!)[0],
            cancellationToken);
        Evict(hash);
        var result = (RedisResult[])evaluated!;
        var version = (long)result[0];
        if (version <= 0)
        {
            RedisLog.RefreshIntentRefused(_logger, hash, expectedVersion, version < 0);
            return null;
        }

        // The refresh token is presented only once the intent would survive a failover: a promoted replica without it
        // would let another owner present the same refresh token.
        await AcknowledgeAsync(written);

        return read with { Version = version, RefreshIntent = new PitchlyRefreshIntent(owner, DateTimeOffset.FromUnixTimeMilliseconds((long)result[1])) };
    }

    public async ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = HashOf(key);
        var expected = expectedVersion is { } version ? version.ToString(CultureInfo.InvariantCulture) : string.Empty;
        var result = await EvaluateAsync(
            "a removal",
            RedisScripts.Remove,
            [_connection.Names.Record(hash)],
            () => [expected, _timeToLiveMilliseconds, _connection.Names.ChannelName(hash), hash, _connection.PublishMode],
            cancellationToken);
        Evict(hash);
        return (long)result == 1;
    }

    /// <summary>
    /// Drops this instance's cached copy of <paramref name="key"/>, so the next read goes to Redis. The refresh lock
    /// calls it on acquisition: the re-read that follows must see the latest record, not a cached one.
    /// </summary>
    internal void EvictLocalCopy(PitchlyTokenKey key) => Evict(HashOf(key));

    private async ValueTask<PitchlyTokenRecord?> ReadAsync(PitchlyTokenKey key, string hash, CancellationToken cancellationToken)
    {
        var group = EpochGroup(hash);
        long epoch;
        bool cacheable;
        RedisValue[] fields;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);

            // Captured once connected and subscribed, right before the read: an announcement after this point stops
            // the result from being cached.
            epoch = Volatile.Read(ref _epochs[group]);
            cacheable = _connection.AnnouncementsReliableFor(hash) && _options.L1MaxAge > TimeSpan.Zero;
            fields = await database.HashGetAsync(_connection.Names.Record(hash), RecordFields);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            _metrics.StoreUnavailable.Add(1);
            if (_options.OutagePolicy == PitchlyRedisOutagePolicy.UseCachedTokensOnly
                && _cache.TryGetValue(hash, out var fallback)
                && fallback.Confirmed
                && fallback.Record.ExpiresAt > _timeProvider.GetUtcNow())
            {
                RedisLog.ServingCachedTokensDuringOutage(_logger, hash, fallback.Record.Version);
                return fallback.Record;
            }

            RedisLog.RedisUnavailable(_logger, "a read", exception);
            throw RedisFailures.Unavailable("a read", exception);
        }

        if (fields[0].IsNull || fields[1].IsNull)
        {
            return null;
        }

        var version = (long)fields[0];
        if (TryUnprotect(key, hash, version, (byte[])fields[1]!) is not { } payload)
        {
            // Undecryptable is absent: the user signs in again instead of every call failing. The removal is a
            // compare-and-delete on the version read, so a record written since then is kept.
            await RemoveUndecryptableAsync(key, version, cancellationToken);
            return null;
        }

        var intent = fields[2].IsNull || fields[3].IsNull
            ? null
            : new PitchlyRefreshIntent(fields[2].ToString(), DateTimeOffset.FromUnixTimeMilliseconds((long)fields[3]));
        var record = payload.ToRecord(version, intent);
        if (cacheable && _connection.AnnouncementsReliableFor(hash) && Volatile.Read(ref _epochs[group]) == epoch)
        {
            await CacheAsync(key, hash, group, epoch, record);
        }

        return record;
    }

    private async ValueTask CacheAsync(PitchlyTokenKey key, string hash, int group, long epoch, PitchlyTokenRecord record)
    {
        if (CacheInsertHook is { } beforeInsert)
        {
            await beforeInsert(CacheInsertStage.BeforeInsert);
        }

        if (_cache.Count >= _options.L1MaxEntries)
        {
            Sweep();
            if (_cache.Count >= _options.L1MaxEntries)
            {
                // Full of fresh entries: this record is served from Redis rather than pushing out one in use.
                return;
            }
        }

        // Remembered before the entry is added; a race with an eviction can leave the entry without it until the
        // next re-read, which costs those hits a hash but no round trip.
        _hashByKey[key.Value] = hash;
        var entry = new CachedRecord(record, _timeProvider.GetTimestamp(), key.Value);
        _cache.AddOrUpdate(hash, static (_, read) => read, static (_, existing, read) => existing.Record.Version > read.Record.Version ? existing : read, entry);
        if (CacheInsertHook is { } afterInsert)
        {
            await afterInsert(CacheInsertStage.AfterInsert);
        }

        // An eviction between the first check and the insert would have found nothing to remove: look again, now
        // that the entry is visible to evictions, and confirm it only if none came. The fence orders the insert
        // before the epoch read (Evict increments the epoch before it removes).
        Interlocked.MemoryBarrier();
        if (_connection.AnnouncementsReliableFor(hash) && Volatile.Read(ref _epochs[group]) == epoch)
        {
            entry.Confirmed = true;
        }
        else
        {
            _cache.TryRemove(KeyValuePair.Create(hash, entry));
        }
    }

    /// <summary>
    /// Runs a script that writes the record of <paramref name="hash"/>; <paramref name="writtenVersion"/> reads the
    /// version it wrote from its result (0 or less: nothing written). The write is confirmed with the replicas by
    /// <see cref="AcknowledgeAsync"/>, after the caller has dropped its cached copy.
    /// </summary>
    private async ValueTask<(RedisResult Result, PendingWrite Written)> EvaluateWriteAsync(
        string operation,
        string script,
        string hash,
        Func<RedisValue[]> values,
        Func<RedisResult, long> writtenVersion,
        CancellationToken cancellationToken)
    {
        var record = _connection.Names.Record(hash);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            var replicationId = await _acknowledgement.BeforeWriteAsync(database, record);
            var result = await database.ScriptEvaluateAsync(script, [record], values());
            return (result, new PendingWrite(operation, database, hash, writtenVersion(result), replicationId));
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            _metrics.StoreUnavailable.Add(1);
            RedisLog.RedisUnavailable(_logger, "a " + operation, exception);
            throw RedisFailures.Unavailable("a " + operation, exception);
        }
    }

    private async ValueTask AcknowledgeAsync(PendingWrite written) => Enforce(written, await ConfirmAsync(written));

    private async ValueTask<ReplicaAcknowledgementOutcome> ConfirmAsync(PendingWrite written)
    {
        if (written.Version <= 0)
        {
            return ReplicaAcknowledgementOutcome.NotNeeded;
        }

        try
        {
            return await _acknowledgement.ConfirmAsync(written.Database, _connection.Names.Record(written.Hash), written.Version, written.ReplicationId);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            // The primary took the write; whether a replica has it is not known.
            RedisLog.ReplicaConfirmationFailed(_logger, written.Operation, written.Hash, written.Version, exception);
            return ReplicaAcknowledgementOutcome.Unacknowledged;
        }
    }

    /// <summary>Applies <see cref="PitchlyRedisOptions.UnacknowledgedWritePolicy"/> to a write no replica confirmed.</summary>
    private void Enforce(PendingWrite written, ReplicaAcknowledgementOutcome outcome)
    {
        if (outcome == ReplicaAcknowledgementOutcome.Lost)
        {
            _metrics.UnacknowledgedWrites.Add(1, new KeyValuePair<string, object?>("outcome", "lost"));
            RedisLog.WriteLostInFailover(_logger, written.Operation, written.Hash, written.Version);
            throw RedisFailures.NotReplicated(written.Operation, lost: true);
        }

        if (outcome != ReplicaAcknowledgementOutcome.Unacknowledged)
        {
            return;
        }

        _metrics.UnacknowledgedWrites.Add(1, new KeyValuePair<string, object?>("outcome", "unacknowledged"));
        var policy = _options.UnacknowledgedWritePolicy;
        var failing = policy == PitchlyRedisUnacknowledgedWritePolicy.FailRetryably;
        RedisLog.WriteUnacknowledged(
            _logger,
            written.Operation,
            written.Hash,
            written.Version,
            _options.ReplicaAcknowledgementTimeout,
            policy,
            failing ? "it fails retryably" : "it counts as done on the primary alone");
        if (failing)
        {
            throw RedisFailures.NotReplicated(written.Operation, lost: false);
        }
    }

    /// <summary>
    /// After a compare-and-swap was refused: whether the record still holds what this store wrote at the same expected
    /// version, unacknowledged, before (a retry of that write), and a replica now has it. Returns its version if so.
    /// </summary>
    private async ValueTask<long?> TryConfirmEarlierWriteAsync(string hash, long expectedVersion, CancellationToken cancellationToken)
    {
        if (!_unacknowledged.TryGetValue((hash, expectedVersion), out var earlier))
        {
            return null;
        }

        PendingWrite written;
        try
        {
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            var stored = await database.HashGetAsync(_connection.Names.Record(hash), "v");
            if (stored.IsNull || (long)stored != earlier.Version)
            {
                // Another write came on top of it, or a failover dropped it: the refusal stands.
                _unacknowledged.TryRemove((hash, expectedVersion), out _);
                return null;
            }

            written = new PendingWrite("compare-and-swap write", database, hash, earlier.Version, RedisValue.EmptyString);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            _metrics.StoreUnavailable.Add(1);
            RedisLog.RedisUnavailable(_logger, "a compare-and-swap write", exception);
            throw RedisFailures.Unavailable("a compare-and-swap write", exception);
        }

        var outcome = await ConfirmAsync(written);
        if (outcome != ReplicaAcknowledgementOutcome.Unacknowledged)
        {
            _unacknowledged.TryRemove((hash, expectedVersion), out _);
        }

        Enforce(written, outcome);
        return earlier.Version;
    }

    /// <summary>
    /// Runs a script; its arguments are made once connected, as they include the publish mode
    /// (<see cref="RedisConnection.PublishMode"/>), known from then on.
    /// </summary>
    private async ValueTask<RedisResult> EvaluateAsync(string operation, string script, RedisKey[] keys, Func<RedisValue[]> values, CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            return await database.ScriptEvaluateAsync(script, keys, values());
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            _metrics.StoreUnavailable.Add(1);
            RedisLog.RedisUnavailable(_logger, operation, exception);
            throw RedisFailures.Unavailable(operation, exception);
        }
    }

    private byte[] Protect(PitchlyTokenKey key, PitchlyTokenRecord record)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(StoredTokenPayload.From(record), RedisStoreJsonContext.Default.StoredTokenPayload);
        return _protector.CreateProtector(key.Value).Protect(json);
    }

    private StoredTokenPayload? TryUnprotect(PitchlyTokenKey key, string hash, long version, byte[] data)
    {
        try
        {
            var json = _protector.CreateProtector(key.Value).Unprotect(data);
            return JsonSerializer.Deserialize(json, RedisStoreJsonContext.Default.StoredTokenPayload)
                ?? throw new JsonException("The stored record is empty.");
        }
        catch (Exception exception) when (exception is CryptographicException or JsonException)
        {
            RedisLog.RecordUndecryptable(_logger, hash, version, exception);
            return null;
        }
    }

    private async ValueTask RemoveUndecryptableAsync(PitchlyTokenKey key, long version, CancellationToken cancellationToken)
    {
        try
        {
            await RemoveAsync(key, version, cancellationToken);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            // Already logged; the record is still absent to this read, and the next read tries the removal again.
        }
    }

    public async Task WaitForChangeAsync(PitchlyTokenKey key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);

        // Shared by every waiter of the key in this instance; a change announced before the waiter joined is caught by
        // its caller's next read (the timeout is the polling fallback).
        var changed = _changeWaiters.GetOrAdd(HashOf(key), static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await changed.Task.WaitAsync(timeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            // No announcement in time: the caller reads the record again anyway.
        }
    }

    private void OnRecordChanged(string hash, long version)
    {
        if (_changeWaiters.TryRemove(hash, out var waiters))
        {
            waiters.TrySetResult();
        }

        // Our own copy of the announced version stays; any other version is stale (or newer than what Redis holds
        // after a failover), so it goes.
        if (_cache.TryGetValue(hash, out var cached) && cached.Record.Version == version)
        {
            return;
        }

        Evict(hash);
    }

    private void Evict(string hash)
    {
        Interlocked.Increment(ref _epochs[EpochGroup(hash)]);
        if (_cache.TryRemove(hash, out var removed))
        {
            _hashByKey.TryRemove(KeyValuePair.Create(removed.KeyValue, hash));
        }
    }

    private bool IsExpired(CachedRecord entry) =>
        _timeProvider.GetElapsedTime(entry.CachedAt) >= _options.L1MaxAge
        && (_options.OutagePolicy == PitchlyRedisOutagePolicy.FailFast || entry.Record.ExpiresAt <= _timeProvider.GetUtcNow());

    private void RemoveIfExpired(string hash, CachedRecord entry)
    {
        if (IsExpired(entry) && _cache.TryRemove(KeyValuePair.Create(hash, entry)))
        {
            _hashByKey.TryRemove(KeyValuePair.Create(entry.KeyValue, hash));
        }
    }

    private void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            foreach (var (hash, entry) in _cache)
            {
                RemoveIfExpired(hash, entry);
            }

            // A write whose retries stopped long ago is no longer worth confirming.
            foreach (var (pending, earlier) in _unacknowledged)
            {
                if (_timeProvider.GetElapsedTime(earlier.WrittenAt) >= ReplicaAcknowledgement.ReplicaMemory)
                {
                    _unacknowledged.TryRemove(KeyValuePair.Create(pending, earlier));
                }
            }

            // Hashes whose entry went without them (a race with an eviction) are dropped here too.
            foreach (var (keyValue, hash) in _hashByKey)
            {
                if (!_cache.ContainsKey(hash))
                {
                    _hashByKey.TryRemove(KeyValuePair.Create(keyValue, hash));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private void OnConnectionFailed()
    {
        // Under FailFast the cache is useless while announcements cannot arrive; UseCachedTokensOnly keeps it as the
        // outage fallback (reads skip it while the connection is unhealthy).
        if (_options.OutagePolicy == PitchlyRedisOutagePolicy.FailFast)
        {
            ClearCache();
        }
    }

    private void ClearCache()
    {
        for (var i = 0; i < _epochs.Length; i++)
        {
            Interlocked.Increment(ref _epochs[i]);
        }

        _cache.Clear();
        _hashByKey.Clear();
    }

    private static int EpochGroup(string hash) => hash[0] % EpochGroups;

    private string HashOf(PitchlyTokenKey key) => _hashByKey.TryGetValue(key.Value, out var hash) ? hash : RedisKeyNames.Hash(key);

    /// <summary>A write of a record's <see cref="Version"/>, to be confirmed with the replicas.</summary>
    private readonly record struct PendingWrite(string Operation, IDatabase Database, string Hash, long Version, RedisValue ReplicationId);

    /// <summary>A cached record; compared by reference, so a compare-and-remove removes only the entry it added.</summary>
    private sealed class CachedRecord(PitchlyTokenRecord record, long cachedAt, string keyValue)
    {
        private volatile bool _confirmed;

        public PitchlyTokenRecord Record { get; } = record;

        public long CachedAt { get; } = cachedAt;

        public string KeyValue { get; } = keyValue;

        /// <summary>Gets or sets a value indicating whether no eviction raced with the read that added it, so it may be served.</summary>
        public bool Confirmed
        {
            get => _confirmed;
            set => _confirmed = value;
        }
    }
}

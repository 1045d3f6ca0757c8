using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The Redis store's in-process cache (L1) of decrypted records, keyed by the hash of each key as announcements are.
/// </summary>
/// <remarks>
/// <para>
/// It stays honest because every write announces <c>{hash}:{version}</c> and every instance evicts a cached copy of
/// another version; because it is trusted only while the connection (and so the subscription) is healthy and cleared
/// when it is restored; and because entries are re-read after <see cref="PitchlyRedisOptions.L1MaxAge"/> in case an
/// announcement was lost.
/// </para>
/// <para>
/// A read that raced with an announcement must not cache what it read: each group of keys has an epoch that every
/// eviction increments, and a read caches its result only if its group's epoch did not move while it ran. The entry
/// is added unconfirmed (never served), the epoch is checked again, and only then is the entry confirmed; otherwise
/// it is removed. An eviction (an announcement, or acquiring the refresh lock) that comes while a read is in flight
/// therefore always wins, even if the read was pre-empted between its checks and its insert.
/// </para>
/// <para>
/// So that a hit costs no SHA-256, the hash of each key with a cached entry is remembered by
/// <see cref="PitchlyTokenKey.Value"/>, added and dropped with that entry. The hash of a key never changes, so a
/// remembered hash can be missing or outlive its entry but never be wrong: it affects only the cost of a lookup, not
/// what the L1 answers.
/// </para>
/// <para>
/// Entries hold decrypted refresh tokens, so none outlives its use: an entry older than
/// <see cref="PitchlyRedisOptions.L1MaxAge"/> is dropped when looked up and by <see cref="Sweep"/> (which the store runs
/// every <c>L1MaxAge</c>, at least a second), and the cache holds at most <see cref="PitchlyRedisOptions.L1MaxEntries"/>.
/// Under <see cref="PitchlyRedisOutagePolicy.UseCachedTokensOnly"/> an entry is kept until its access token expires, as
/// the outage fallback (<see cref="OutageFallback"/>).
/// </para>
/// </remarks>
internal sealed class L1RecordCache
{
    private const int EpochGroups = 64;

    private readonly RedisConnection _connection;
    private readonly PitchlyRedisOptions _options;
    private readonly TimeProvider _timeProvider;
    // Bounded by L1MaxEntries and L1MaxAge (see the summary); _hashByKey is trimmed with it.
    private readonly ConcurrentDictionary<string, CachedRecord> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _hashByKey = new(StringComparer.Ordinal);
    private readonly long[] _epochs = new long[EpochGroups];
    private int _sweeping;

    public L1RecordCache(RedisConnection connection, TimeProvider timeProvider)
    {
        _connection = connection;
        _options = connection.Options;
        _timeProvider = timeProvider;
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += Clear;
        connection.AnnouncementsInterrupted += Clear;
    }

    /// <summary>Gets the number of records cached.</summary>
    public int Count => _cache.Count;

    /// <summary>Gets the number of key hashes remembered for cached records.</summary>
    public int RememberedHashCount => _hashByKey.Count;

    /// <summary>Lets tests pause a read as it caches its result, to reproduce races with evictions.</summary>
    public Func<CacheInsertStage, Task>? InsertHook { get; set; }

    /// <summary>Gets the hash of <paramref name="key"/>: remembered while the key has an entry, computed otherwise.</summary>
    public string HashOf(PitchlyTokenKey key) => _hashByKey.TryGetValue(key.Value, out var hash) ? hash : RedisKeyNames.Hash(key);

    /// <summary>Gets the cached record of <paramref name="hash"/> if it may be served now; drops it if it has expired.</summary>
    public PitchlyTokenRecord? TryGet(string hash)
    {
        if (!_cache.TryGetValue(hash, out var cached))
        {
            return null;
        }

        if (_connection.AnnouncementsReliableFor(hash)
            && cached.Confirmed
            && _timeProvider.GetElapsedTime(cached.CachedAt) < _options.L1MaxAge)
        {
            return cached.Record;
        }

        RemoveIfExpired(hash, cached);
        return null;
    }

    /// <summary>
    /// Gets what a read that cannot reach Redis may serve instead under <see cref="PitchlyRedisOutagePolicy.UseCachedTokensOnly"/>:
    /// the cached record of <paramref name="hash"/> while its access token is valid; otherwise <see langword="null"/>.
    /// </summary>
    public PitchlyTokenRecord? OutageFallback(string hash) =>
        _options.OutagePolicy == PitchlyRedisOutagePolicy.UseCachedTokensOnly
        && _cache.TryGetValue(hash, out var fallback)
        && fallback.Confirmed
        && fallback.Record.ExpiresAt > _timeProvider.GetUtcNow()
            ? fallback.Record
            : null;

    /// <summary>
    /// Starts a read of <paramref name="hash"/> from Redis. Called once connected and subscribed, right before the read: an
    /// announcement after this point stops the result from being cached.
    /// </summary>
    public ReadStart BeginRead(string hash)
    {
        var group = EpochGroup(hash);
        return new ReadStart(
            hash,
            group,
            Volatile.Read(ref _epochs[group]),
            _connection.AnnouncementsReliableFor(hash) && _options.L1MaxAge > TimeSpan.Zero);
    }

    /// <summary>Caches what the read begun as <paramref name="read"/> found, unless an eviction came since it began.</summary>
    public async ValueTask AddAsync(PitchlyTokenKey key, ReadStart read, PitchlyTokenRecord record)
    {
        var hash = read.Hash;
        if (!read.Cacheable || !_connection.AnnouncementsReliableFor(hash) || Volatile.Read(ref _epochs[read.Group]) != read.Epoch)
        {
            return;
        }

        if (InsertHook is { } beforeInsert)
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
        if (InsertHook is { } afterInsert)
        {
            await afterInsert(CacheInsertStage.AfterInsert);
        }

        // An eviction between the first check and the insert would have found nothing to remove: look again, now
        // that the entry is visible to evictions, and confirm it only if none came. The fence orders the insert
        // before the epoch read (Evict increments the epoch before it removes).
        Interlocked.MemoryBarrier();
        if (_connection.AnnouncementsReliableFor(hash) && Volatile.Read(ref _epochs[read.Group]) == read.Epoch)
        {
            entry.Confirmed = true;
        }
        else
        {
            _cache.TryRemove(KeyValuePair.Create(hash, entry));
        }
    }

    /// <summary>Drops the cached copy of <paramref name="hash"/>, and stops reads in flight from caching theirs.</summary>
    public void Evict(string hash)
    {
        Interlocked.Increment(ref _epochs[EpochGroup(hash)]);
        if (_cache.TryRemove(hash, out var removed))
        {
            _hashByKey.TryRemove(KeyValuePair.Create(removed.KeyValue, hash));
        }
    }

    /// <summary>Applies the announcement that <paramref name="hash"/> is now at <paramref name="version"/>.</summary>
    public void OnRecordChanged(string hash, long version)
    {
        // Our own copy of the announced version stays; any other version is stale (or newer than what Redis holds
        // after a failover), so it goes.
        if (_cache.TryGetValue(hash, out var cached) && cached.Record.Version == version)
        {
            return;
        }

        Evict(hash);
    }

    /// <summary>Drops expired entries, and remembered hashes whose entry is gone.</summary>
    public void Sweep()
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

    private void OnConnectionFailed()
    {
        // Under FailFast the cache is useless while announcements cannot arrive; UseCachedTokensOnly keeps it as the
        // outage fallback (reads skip it while the connection is unhealthy).
        if (_options.OutagePolicy == PitchlyRedisOutagePolicy.FailFast)
        {
            Clear();
        }
    }

    private void Clear()
    {
        for (var i = 0; i < _epochs.Length; i++)
        {
            Interlocked.Increment(ref _epochs[i]);
        }

        _cache.Clear();
        _hashByKey.Clear();
    }

    private static int EpochGroup(string hash) => hash[0] % EpochGroups;

    /// <summary>A read of a record from Redis, with the epoch of its group as it began.</summary>
    internal readonly record struct ReadStart(string Hash, int Group, long Epoch, bool Cacheable);

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

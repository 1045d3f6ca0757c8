using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Pitchly.AspNetCore.Internal;

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
/// So that a hit costs one lookup and no SHA-256, each cached entry is also indexed by its <see cref="PitchlyTokenKey"/>
/// (a <see cref="KeyedEntryTable{TEntry}"/>, whose slots point to the entries), added and dropped with that entry. The index is only a shortcut: a hit serves
/// the entry it finds only while that entry is still the one cached for its hash (removing an entry marks it removed),
/// so the index can be missing an entry or point to a removed one — which costs a read from Redis — but never makes
/// the L1 answer what the cache by hash would not.
/// </para>
/// <para>
/// Entries hold decrypted refresh tokens, so none outlives its use: an entry older than
/// <see cref="PitchlyRedisOptions.L1MaxAge"/> is dropped when looked up and by <see cref="Sweep"/> (which the store runs
/// every <c>L1MaxAge</c>, at least a second, on its timer). Under <see cref="PitchlyRedisOutagePolicy.UseCachedTokensOnly"/>
/// an entry is kept until its access token expires, as the outage fallback (<see cref="OutageFallback"/>).
/// </para>
/// <para>
/// Size is bounded by <see cref="PitchlyRedisOptions.L1MaxBytes"/> (each entry's estimated size, <see cref="EstimateSize"/>)
/// and <see cref="PitchlyRedisOptions.L1MaxEntries"/>, both kept as running totals so no request counts the cache. A
/// full cache still caches: it evicts by CLOCK (second chance) over a queue of entries in insertion order — the entry
/// at the head goes unless it was served since it last passed the head, in which case it goes to the tail once. Each
/// insert does amortized O(1) work (every re-queue is paid for by a hit, every dead slot by the insert that queued it)
/// and at most <see cref="MaxSecondChances"/> re-queues, so no request scans the cache. An eviction for room is not an
/// invalidation: it moves no epoch, and the record is read again from Redis when next asked for.
/// </para>
/// </remarks>
internal sealed class L1RecordCache
{
    private const int EpochGroups = 64;

    /// <summary>The most entries one insert sends back to the tail of the queue before it evicts whatever is at the head.</summary>
    private const int MaxSecondChances = 16;

    /// <summary>Queue slots trimmed per insert when dead slots (entries already removed) outnumber the live ones.</summary>
    private const int DeadSlotsTrimmedPerInsert = 4;

    // Estimated bytes an entry costs beyond its strings' characters: the CachedRecord, the PitchlyTokenRecord, the two
    // dictionaries' nodes, the queue slot and the headers of the strings (key value, hash, tokens, scope, organization).
    private const int EntryOverheadBytes = 512;
    private const int StringOverheadBytes = 24;

    private readonly RedisConnection _connection;
    private readonly PitchlyRedisOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Counter<long> _evictions;
    // Bounded by L1MaxBytes, L1MaxEntries and L1MaxAge (see the summary); _byKey is trimmed with it. The map's bucket
    // array never shrinks, so once the sweep finds a quarter of the peak count or less, it and _clock are replaced by
    // right-sized copies (_shrinker; every change to either goes through its gate).
    private ConcurrentDictionary<string, CachedRecord> _cache = new(StringComparer.Ordinal);
    // The index a hit uses: its slots point to the entries (KeyedEntryTable), so a hit reads a slot and the entry.
    // It gives back its own spare room on the sweep, outside the gate's swap.
    private readonly KeyedEntryTable<CachedRecord> _byKey = new();
    // Every entry added, in insertion order; slots of entries since removed are dropped as they reach the head, and by
    // the sweep's turn of the queue. Its last segment keeps the size the queue grew to, hence the swap above.
    private ConcurrentQueue<CachedRecord> _clock = new();
    private readonly ShrinkGate _shrinker = new();
    private readonly long[] _epochs = new long[EpochGroups];
    private long _bytes;
    private int _entries;
    private int _queued;
    private int _sweeping;

    public L1RecordCache(RedisConnection connection, TimeProvider timeProvider, PitchlyMetrics metrics)
    {
        _connection = connection;
        _options = connection.Options;
        _timeProvider = timeProvider;
        _hits = metrics.CacheHits;
        _misses = metrics.CacheMisses;
        _evictions = metrics.CacheEvictions;
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += Clear;
        connection.AnnouncementsInterrupted += Clear;
    }

    /// <summary>Gets the number of records cached (a running total: no lock is taken).</summary>
    public int Count => Volatile.Read(ref _entries);

    /// <summary>Gets the estimated bytes the cached records take (a running total).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Gets the number of key hashes remembered for cached records.</summary>
    public int RememberedHashCount => _byKey.Count;

    /// <summary>Gets the gate that guards changes to the cache against the sweep's swap (for tests).</summary>
    internal ShrinkGate Shrinker => _shrinker;

    /// <summary>Lets tests pause a read as it caches its result, to reproduce races with evictions.</summary>
    public Func<CacheInsertStage, Task>? InsertHook { get; set; }

    /// <summary>Gets the hash of <paramref name="key"/>: remembered while the key has an entry, computed otherwise.</summary>
    public string HashOf(PitchlyTokenKey key) => _byKey.Find(key) is { } entry ? entry.Hash : RedisKeyNames.Hash(key);

    /// <summary>Gets the cached record of <paramref name="key"/> if it may be served now; drops it if it has expired.</summary>
    public PitchlyTokenRecord? TryGet(PitchlyTokenKey key) => TryGetHeld(key)?.Record;

    /// <summary>
    /// Gets the entry of <paramref name="key"/>'s cached record if it may be served now (what <see cref="TryGet"/>
    /// returns the record of); drops it if it has expired.
    /// </summary>
    public HeldRecord? TryGetHeld(PitchlyTokenKey key)
    {
        if (_byKey.Find(key) is not { } cached || cached.Removed)
        {
            _misses.Add(1);
            return null;
        }

        // Everything a hit reads is in the entry (its bucket kept, not recomputed from the hash), and so is what the
        // token manager decides on and returns (HeldRecord): at a large population each object a hit touches is a
        // likely miss in the CPU's caches, and the record is not touched.
        if (_connection.AnnouncementsReliableForBucket(cached.Bucket)
            && cached.Confirmed
            && _timeProvider.GetElapsedTime(cached.CachedAt) < _options.L1MaxAge)
        {
            cached.MarkReferenced();
            _hits.Add(1);
            return cached;
        }

        RemoveIfExpired(cached.Hash, cached);
        _misses.Add(1);
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

        var entry = new CachedRecord(key, hash, record, _timeProvider.GetTimestamp(), EstimateSize(key.Value, hash, record));
        if (Insert(entry))
        {
            // Indexed once in the cache; if an eviction removed it meanwhile, the index points to a removed entry,
            // which hits skip (and the sweep drops) — a race with another insert for the key can do the same.
            Index(entry);
            if (entry.Removed)
            {
                Unindex(entry);
            }

            MakeRoom();
        }

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
            TryRemove(entry);
        }
    }

    /// <summary>Drops the cached copy of <paramref name="hash"/>, and stops reads in flight from caching theirs.</summary>
    public void Evict(string hash)
    {
        Interlocked.Increment(ref _epochs[EpochGroup(hash)]);
        if (TryRemove(hash) is { } removed)
        {
            Removed(removed);
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

    /// <summary>
    /// Drops expired entries, remembered hashes whose entry is gone, and the queue's slots of removed entries; then
    /// replaces the maps and the queue by right-sized copies if a quarter of the peak count or less is left.
    /// </summary>
    /// <returns><see langword="false"/> if another sweep was running (this one did nothing).</returns>
    public bool Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return false;
        }

        try
        {
            foreach (var (hash, entry) in _cache)
            {
                RemoveIfExpired(hash, entry);
            }

            // Index entries left pointing to a removed entry (a race between inserts for one key) are dropped here too.
            _byKey.RemoveWhere(static (entry, _) => entry.Removed, 0);

            // And the queue's dead slots: inserts trim them only while the cache is busy, so without this an idle
            // cache would keep every removed entry (and the decrypted record it holds) reachable from the queue. One
            // turn of the queue: live entries go back to the tail in their order, with their hit marks.
            for (var slots = Volatile.Read(ref _queued); slots > 0 && Dequeue() is { } slot; slots--)
            {
                if (IsCached(slot))
                {
                    Enqueue(slot);
                }
            }

            Shrink();
            _byKey.TryShrink();
            return true;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>
    /// Replaces the map by hash and the queue by right-sized copies if a quarter of the peak count or less is left (see
    /// <see cref="ShrinkGate"/>: no change runs meanwhile, so the copies hold exactly what the originals held, and the
    /// entries are the same objects, so their confirmation, hit marks and removal marks carry over). Epochs live outside
    /// the maps and are untouched: an eviction before the swap removed from the old map, one after from the copy.
    /// </summary>
    internal bool Shrink() => _shrinker.TryShrink(Count, () =>
    {
        Volatile.Write(ref _cache, ShrinkGate.Copy(_cache));
        Volatile.Write(ref _clock, new ConcurrentQueue<CachedRecord>(_clock));
    });

    private bool IsExpired(CachedRecord entry) =>
        _timeProvider.GetElapsedTime(entry.CachedAt) >= _options.L1MaxAge
        && (_options.OutagePolicy == PitchlyRedisOutagePolicy.FailFast || entry.Record.ExpiresAt <= _timeProvider.GetUtcNow());

    private void RemoveIfExpired(string hash, CachedRecord entry)
    {
        if (IsExpired(entry))
        {
            TryRemove(entry);
        }
    }

    /// <summary>
    /// Estimates the bytes an entry for <paramref name="record"/> takes: two bytes a character of every string it holds
    /// (the key's value and hash are held twice, by both dictionaries, as one string each), plus object overheads.
    /// </summary>
    internal static long EstimateSize(string keyValue, string hash, PitchlyTokenRecord record)
    {
        long size = EntryOverheadBytes
            + StringSize(keyValue) + StringSize(hash)
            + StringSize(record.AccessToken) + StringSize(record.RefreshToken) + StringSize(record.Scope) + StringSize(record.OrganizationId);
        if (record.RefreshIntent is { } intent)
        {
            size += 64 + StringSize(intent.Owner);
        }

        if (record.Sessions is { } sessions)
        {
            size += 32 + (8L * sessions.Count);
            foreach (var session in sessions)
            {
                size += 48 + StringSize(session.Id);
            }
        }

        return size;

        static long StringSize(string? value) => value is null ? 0 : StringOverheadBytes + (2L * value.Length);
    }

    /// <summary>Adds <paramref name="entry"/>, or replaces an older version's; <see langword="false"/> if a newer version is cached.</summary>
    private bool Insert(CachedRecord entry)
    {
        while (true)
        {
            if (TryAdd(entry))
            {
                _shrinker.NoteCount(Interlocked.Increment(ref _entries));
                Interlocked.Add(ref _bytes, entry.Size);
                break;
            }

            if (!_cache.TryGetValue(entry.Hash, out var existing))
            {
                continue;
            }

            if (existing.Record.Version > entry.Record.Version)
            {
                return false;
            }

            if (TryReplace(entry, existing))
            {
                // The old entry's queue slot is now dead; its index entry is replaced by the caller's.
                existing.Removed = true;
                Interlocked.Add(ref _bytes, entry.Size - existing.Size);
                break;
            }
        }

        Enqueue(entry);
        return true;
    }

    /// <summary>Evicts by CLOCK until the cache is within its bounds, and trims a few dead queue slots.</summary>
    private void MakeRoom()
    {
        var secondChances = 0;
        while ((Volatile.Read(ref _bytes) > _options.L1MaxBytes || Volatile.Read(ref _entries) > _options.L1MaxEntries)
            && Dequeue() is { } candidate)
        {
            if (!IsCached(candidate))
            {
                continue;
            }

            if (candidate.TakeReference() && secondChances++ < MaxSecondChances)
            {
                Enqueue(candidate);
                continue;
            }

            if (TryRemove(candidate))
            {
                _evictions.Add(1);
            }
        }

        for (var trimmed = 0;
            trimmed < DeadSlotsTrimmedPerInsert && Volatile.Read(ref _queued) > (2L * Volatile.Read(ref _entries)) + 64 && Dequeue() is { } slot;
            trimmed++)
        {
            if (IsCached(slot))
            {
                Enqueue(slot);
            }
        }
    }

    // The changes to the maps and the queue, each inside the shrink gate (never nested: none calls another).
    private void Enqueue(CachedRecord entry)
    {
        _shrinker.EnterWrite();
        try
        {
            Interlocked.Increment(ref _queued);
            _clock.Enqueue(entry);
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    private CachedRecord? Dequeue()
    {
        _shrinker.EnterWrite();
        try
        {
            if (!_clock.TryDequeue(out var slot))
            {
                return null;
            }

            Interlocked.Decrement(ref _queued);
            return slot;
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    private bool TryAdd(CachedRecord entry)
    {
        _shrinker.EnterWrite();
        try
        {
            return _cache.TryAdd(entry.Hash, entry);
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    private bool TryReplace(CachedRecord entry, CachedRecord existing)
    {
        _shrinker.EnterWrite();
        try
        {
            return _cache.TryUpdate(entry.Hash, entry, existing);
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    private CachedRecord? TryRemove(string hash)
    {
        _shrinker.EnterWrite();
        try
        {
            return _cache.TryRemove(hash, out var removed) ? removed : null;
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    /// <summary>Makes <paramref name="entry"/> the one its key's hits find, in place of any other.</summary>
    private void Index(CachedRecord entry)
    {
        while (_byKey.Find(entry.Key) is { } current ? !_byKey.TryReplace(current, entry) : !_byKey.TryAdd(entry))
        {
        }
    }

    private void Unindex(CachedRecord entry) => _byKey.TryRemove(entry);

    private bool IsCached(CachedRecord entry) => _cache.TryGetValue(entry.Hash, out var current) && ReferenceEquals(current, entry);

    /// <summary>Removes <paramref name="entry"/> if it is still the one cached for its hash.</summary>
    private bool TryRemove(CachedRecord entry)
    {
        bool removed;
        _shrinker.EnterWrite();
        try
        {
            removed = _cache.TryRemove(KeyValuePair.Create(entry.Hash, entry));
        }
        finally
        {
            _shrinker.ExitWrite();
        }

        if (removed)
        {
            Removed(entry);
        }

        return removed;
    }

    /// <summary>Marks an entry taken out of the cache removed (hits skip it), accounts for it, and drops its index entry.</summary>
    private void Removed(CachedRecord entry)
    {
        entry.Removed = true;
        Interlocked.Decrement(ref _entries);
        Interlocked.Add(ref _bytes, -entry.Size);
        Unindex(entry);
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

        // Entry by entry, so the running totals stay exact; the queue's slots die and are dropped as they come up.
        foreach (var (_, entry) in _cache)
        {
            TryRemove(entry);
        }

        _byKey.RemoveWhere(static (entry, _) => entry.Removed, 0);
    }

    private static int EpochGroup(string hash) => hash[0] % EpochGroups;

    /// <summary>A read of a record from Redis, with the epoch of its group as it began.</summary>
    internal readonly record struct ReadStart(string Hash, int Group, long Epoch, bool Cacheable);

    /// <summary>A cached record; compared by reference, so a compare-and-remove removes only the entry it added.</summary>
    private sealed class CachedRecord(PitchlyTokenKey key, string hash, PitchlyTokenRecord record, long cachedAt, long size) : HeldRecord(key, record)
    {
        private volatile bool _confirmed;
        private volatile bool _referenced;
        private volatile bool _removed;

        public string Hash { get; } = hash;

        /// <summary>Gets the hash's bucket (<see cref="RedisKeyNames.Bucket"/>), kept so a hit does not read the hash.</summary>
        public int Bucket { get; } = RedisKeyNames.Bucket(hash);

        public long Size { get; } = size;

        public long CachedAt { get; } = cachedAt;

        /// <summary>Gets or sets a value indicating whether no eviction raced with the read that added it, so it may be served.</summary>
        public bool Confirmed
        {
            get => _confirmed;
            set => _confirmed = value;
        }

        /// <summary>Gets or sets a value indicating whether the entry was taken out of the cache (so hits found by key skip it).</summary>
        public bool Removed
        {
            get => _removed;
            set => _removed = value;
        }

        /// <summary>Notes a hit; written only when not yet set, so hits on a hot entry do not keep writing its cache line.</summary>
        public void MarkReferenced()
        {
            if (!_referenced)
            {
                _referenced = true;
            }
        }

        /// <summary>Clears the hit mark; <see langword="true"/> if it was set (the entry gets a second chance).</summary>
        public bool TakeReference()
        {
            if (!_referenced)
            {
                return false;
            }

            _referenced = false;
            return true;
        }
    }
}

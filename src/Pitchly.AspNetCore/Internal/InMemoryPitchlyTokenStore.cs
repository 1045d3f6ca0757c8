using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The default store for a single instance. Records live in process memory only, so no encryption: a process that
/// can read them can read the Data Protection keys too. Versions come from one counter shared by all keys, so a
/// removed-then-recreated record never repeats a version a stale writer may still hold (no ABA). Refresh intents
/// live in the record, on this process's clock, like any other field.
/// </summary>
/// <remarks>
/// Bounded: a record not read or written for <see cref="PitchlyTokenManagementOptions.InMemoryRecordTimeToLive"/> is
/// gone (a read finds it expired; a timer sweeps the rest; a read records its time only once the last use is
/// <see cref="MaxTouchGranularity"/> old, so most reads write nothing), and with
/// <see cref="PitchlyTokenManagementOptions.InMemoryMaxRecords"/> set the least recently used records are evicted once
/// the count passes it. Neither scans on a request path: a read or write touches only its own key; the sweep runs on a
/// timer at most once per <see cref="MaxSweepPeriod"/> (or the time-to-live, if shorter), and eviction on a thread-pool
/// item started by the write that crossed the cap, one at a time. An evicted or expired user signs in again: cookie
/// validation rejects a cookie whose record is gone.
/// </remarks>
internal sealed class InMemoryPitchlyTokenStore : IPitchlyTokenStore, IHeldRecordStore, IDisposable
{
    /// <summary>The longest pause between two sweeps of expired records.</summary>
    internal static readonly TimeSpan MaxSweepPeriod = TimeSpan.FromHours(1);

    /// <summary>
    /// The most a read may leave a record's last use behind (see <see cref="TouchGranularity"/>): so a record lives at
    /// least the time-to-live minus this after its last read, and the eviction order is exact to this.
    /// </summary>
    internal static readonly TimeSpan MaxTouchGranularity = TimeSpan.FromSeconds(1);

    // Bounded by InMemoryRecordTimeToLive (idle records leave, swept at most hourly) and, when set, InMemoryMaxRecords
    // (least recently used evicted off the request path); the sweep also gives back the bucket array's spare room once a
    // quarter of the peak or less is left. Its slots point to the entries, which hold the hot path's values
    // (HeldRecord), so a cached call reads a slot and one entry.
    private readonly KeyedEntryTable<Entry> _records = new();
    private readonly TimeProvider _timeProvider;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions>? _options;
    private readonly LazySweepTimer _sweeper;
    private int _evicting;
    private long _lastVersion;

    public InMemoryPitchlyTokenStore()
        : this(TimeProvider.System)
    {
    }

    public InMemoryPitchlyTokenStore(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _sweeper = new LazySweepTimer(timeProvider, Sweep, () => TimeToLive < MaxSweepPeriod ? TimeToLive : MaxSweepPeriod);
    }

    public InMemoryPitchlyTokenStore(IOptionsMonitor<PitchlyTokenManagementOptions> options, TimeProvider timeProvider)
        : this(timeProvider)
    {
        _options = options;
    }

    /// <summary>Gets how many records are held (expired ones not yet swept included).</summary>
    public int Count => _records.Count;

    private TimeSpan TimeToLive => Options?.InMemoryRecordTimeToLive ?? Timeout.InfiniteTimeSpan;

    private int MaxRecords => Options?.InMemoryMaxRecords ?? 0;

    /// <summary>
    /// Gets the options, or <see langword="null"/> when there are none or they fail validation: storing does not depend
    /// on other settings being valid (the token manager reports them), and the store then keeps its records unbounded.
    /// </summary>
    private PitchlyTokenManagementOptions? Options
    {
        get
        {
            try
            {
                return _options?.CurrentValue;
            }
            catch (OptionsValidationException)
            {
                return null;
            }
        }
    }

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ValueTask.FromResult(TryGetHeld(key, _timeProvider.GetUtcNow())?.Record);
    }

    /// <inheritdoc />
    public HeldRecord? TryGetHeld(PitchlyTokenKey key, DateTimeOffset now)
    {
        if (_records.Find(key) is not { } entry)
        {
            return null;
        }

        var ticks = now.UtcTicks;
        var timeToLive = TimeToLive;
        if (IsExpired(entry, ticks, timeToLive))
        {
            Remove(entry);
            return null;
        }

        entry.Touch(ticks, TouchGranularity(timeToLive));
        return entry;
    }

    /// <inheritdoc />
    public ValueTask<PitchlyTokenRecord?> GetUnheldAsync(PitchlyTokenKey key, CancellationToken cancellationToken) => GetAsync(key, cancellationToken);

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = null };
        var entry = NewEntry(key, stored);
        while (true)
        {
            if (_records.Find(key) is { } current)
            {
                if (_records.TryReplace(current, entry))
                {
                    return ValueTask.FromResult(stored);
                }
            }
            else if (TryAdd(entry))
            {
                return ValueTask.FromResult(stored);
            }
        }
    }

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = null };
        if (expectedVersion == 0)
        {
            return ValueTask.FromResult(TryAdd(NewEntry(key, stored)) ? stored : null);
        }

        return ValueTask.FromResult(TryUpdate(key, expectedVersion, _ => stored));
    }

    public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expectedVersion);
        var now = _timeProvider.GetUtcNow();
        return ValueTask.FromResult(TryUpdate(
            key,
            expectedVersion,
            current => current.RefreshIntent is { } live && live.Owner != owner && live.Deadline > now
                ? null
                : current with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = new PitchlyRefreshIntent(owner, now + lifetime) }));
    }

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ValueTask.FromResult(
            _records.Find(key) is { } current
            && (expectedVersion is null || current.Record.Version == expectedVersion)
            && Remove(current));
    }

    /// <inheritdoc />
    public void Dispose() => _sweeper.Dispose();

    /// <summary>Gets how many times the sweep gave back the table's spare room (for tests).</summary>
    internal int Shrinks => _records.Shrinks;

    /// <summary>Gets the highest count since the table last shrank (for tests).</summary>
    internal int Peak => _records.Peak;

    /// <summary>
    /// Removes the records not read or written for the time-to-live: one pass, on the sweep timer; then gives back the
    /// table's spare room if a quarter of its peak or less is left.
    /// </summary>
    internal void Sweep()
    {
        var now = _timeProvider.GetUtcNow().UtcTicks;
        var timeToLive = TimeToLive;
        if (timeToLive != Timeout.InfiniteTimeSpan)
        {
            _records.RemoveWhere(static (entry, limit) => IsExpired(entry, limit.Now, limit.TimeToLive), (Now: now, TimeToLive: timeToLive));
        }

        Shrink();
    }

    /// <summary>Gives back the table's spare room if a quarter of its peak or less is left (see <see cref="KeyedEntryTable{TEntry}.TryShrink"/>).</summary>
    internal bool Shrink() => _records.TryShrink();

    /// <summary>
    /// Evicts the least recently used records until the count is back at the cap: a snapshot sorted by last use, on a
    /// thread-pool item, never on the request that crossed the cap. Records used meanwhile are still evicted in the
    /// snapshot's order; one written meanwhile (a new entry) is not.
    /// </summary>
    internal void Evict()
    {
        try
        {
            var max = MaxRecords;
            while (max > 0 && Count > max)
            {
                var snapshot = _records.Entries().ToArray();
                Array.Sort(snapshot, static (a, b) => a.LastUsed.CompareTo(b.LastUsed));
                foreach (var entry in snapshot)
                {
                    if (Count <= max)
                    {
                        break;
                    }

                    Remove(entry);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _evicting, 0);
        }

        // A write that crossed the cap while this pass was finishing found it running: look again.
        if (MaxRecords is > 0 and var cap && Count > cap)
        {
            ScheduleEviction();
        }
    }

    /// <summary>
    /// How old a record's last use must be before a read records a new one: <see cref="MaxTouchGranularity"/>, or 1/32 of
    /// the time-to-live if that is shorter. A read of a record used more recently writes nothing.
    /// </summary>
    private static long TouchGranularity(TimeSpan timeToLive)
        => timeToLive == Timeout.InfiniteTimeSpan ? MaxTouchGranularity.Ticks : Math.Min(MaxTouchGranularity.Ticks, timeToLive.Ticks / 32);

    private static bool IsExpired(Entry entry, long now, TimeSpan timeToLive)
        => timeToLive != Timeout.InfiniteTimeSpan && now - entry.LastUsed >= timeToLive.Ticks;

    private Entry NewEntry(PitchlyTokenKey key, PitchlyTokenRecord record) => new(key, record, _timeProvider.GetUtcNow().UtcTicks);

    private bool TryAdd(Entry entry)
    {
        if (!_records.TryAdd(entry))
        {
            return false;
        }

        var count = Count;
        if (_options is not null)
        {
            EnsureSweeper();
            if (MaxRecords is > 0 and var max && count > max)
            {
                ScheduleEviction();
            }
        }

        return true;
    }

    private bool Remove(Entry entry) => _records.TryRemove(entry);

    private void ScheduleEviction()
    {
        if (Interlocked.CompareExchange(ref _evicting, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static store => store.Evict(), this, preferLocal: false);
        }
    }

    /// <summary>Starts the sweep timer with the first record, when a time-to-live is configured.</summary>
    private void EnsureSweeper()
    {
        if (!_sweeper.Running && TimeToLive != Timeout.InfiniteTimeSpan)
        {
            _sweeper.Start();
        }
    }

    /// <summary>
    /// Replaces the record while its version is still <paramref name="expectedVersion"/>, with what <paramref name="next"/>
    /// makes of it (<see langword="null"/>: refused). TryUpdate fails only if another writer won the race, so it retries.
    /// </summary>
    private PitchlyTokenRecord? TryUpdate(PitchlyTokenKey key, long expectedVersion, Func<PitchlyTokenRecord, PitchlyTokenRecord?> next)
    {
        while (_records.Find(key) is { } current && current.Record.Version == expectedVersion)
        {
            if (next(current.Record) is not { } replacement)
            {
                return null;
            }

            if (_records.TryReplace(current, NewEntry(key, replacement)))
            {
                return replacement;
            }
        }

        return null;
    }

    /// <summary>A record and when it was last read or written (UTC ticks), for the time-to-live and the eviction order.</summary>
    private sealed class Entry(PitchlyTokenKey key, PitchlyTokenRecord record, long lastUsed) : HeldRecord(key, record)
    {
        private long _lastUsed = lastUsed;

        public long LastUsed => Volatile.Read(ref _lastUsed);

        /// <summary>
        /// Records a read at <paramref name="now"/> once the last use is <paramref name="granularity"/> old: a record read
        /// many times a second is written at most once a second, so reads leave its cache line clean (at a large
        /// population a written line costs a write-back to memory, and across cores an invalidation).
        /// </summary>
        public void Touch(long now, long granularity)
        {
            if (now - Volatile.Read(ref _lastUsed) >= granularity)
            {
                Volatile.Write(ref _lastUsed, now);
            }
        }
    }
}

using System.Collections.Concurrent;
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
internal sealed class InMemoryPitchlyTokenStore : IPitchlyTokenStore, IDisposable
{
    /// <summary>The longest pause between two sweeps of expired records.</summary>
    internal static readonly TimeSpan MaxSweepPeriod = TimeSpan.FromHours(1);

    /// <summary>
    /// The most a read may leave a record's last use behind (see <see cref="TouchGranularity"/>): so a record lives at
    /// least the time-to-live minus this after its last read, and the eviction order is exact to this.
    /// </summary>
    internal static readonly TimeSpan MaxTouchGranularity = TimeSpan.FromSeconds(1);

    // Bounded by InMemoryRecordTimeToLive (idle records leave, swept at most hourly) and, when set, InMemoryMaxRecords
    // (least recently used evicted off the request path). Its bucket array never shrinks, so once the sweep finds a
    // quarter of the peak or less it is replaced by a right-sized copy (_shrinker; every change goes through its gate).
    private ConcurrentDictionary<PitchlyTokenKey, Entry> _records = new();
    private readonly ShrinkGate _shrinker = new();
    private readonly TimeProvider _timeProvider;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions>? _options;
    private readonly LazySweepTimer _sweeper;
    private int _count;
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
    public int Count => Volatile.Read(ref _count);

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
        if (!_records.TryGetValue(key, out var entry))
        {
            return ValueTask.FromResult<PitchlyTokenRecord?>(null);
        }

        var now = _timeProvider.GetUtcNow().UtcTicks;
        var timeToLive = TimeToLive;
        if (IsExpired(entry, now, timeToLive))
        {
            Remove(key, entry);
            return ValueTask.FromResult<PitchlyTokenRecord?>(null);
        }

        entry.Touch(now, TouchGranularity(timeToLive));
        return ValueTask.FromResult<PitchlyTokenRecord?>(entry.Record);
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = null };
        var entry = NewEntry(stored);
        while (true)
        {
            if (_records.TryGetValue(key, out var current))
            {
                if (Replace(key, entry, current))
                {
                    return ValueTask.FromResult(stored);
                }
            }
            else if (TryAdd(key, entry))
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
            return ValueTask.FromResult(TryAdd(key, NewEntry(stored)) ? stored : null);
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
            _records.TryGetValue(key, out var current)
            && (expectedVersion is null || current.Record.Version == expectedVersion)
            && Remove(key, current));
    }

    /// <inheritdoc />
    public void Dispose() => _sweeper.Dispose();

    /// <summary>Gets the gate that guards changes to the records against the sweep's swap (for tests).</summary>
    internal ShrinkGate Shrinker => _shrinker;

    /// <summary>
    /// Removes the records not read or written for the time-to-live: one pass, on the sweep timer; then replaces the
    /// map by a right-sized copy if a quarter of its peak or less is left.
    /// </summary>
    internal void Sweep()
    {
        var now = _timeProvider.GetUtcNow().UtcTicks;
        var timeToLive = TimeToLive;
        foreach (var (key, entry) in _records)
        {
            if (IsExpired(entry, now, timeToLive))
            {
                Remove(key, entry);
            }
        }

        Shrink();
    }

    /// <summary>Replaces the map by a right-sized copy if a quarter of its peak or less is left (see <see cref="ShrinkGate"/>).</summary>
    internal bool Shrink() => _shrinker.TryShrink(Count, () => Volatile.Write(ref _records, ShrinkGate.Copy(_records)));

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
                var snapshot = _records.ToArray();
                Array.Sort(snapshot, static (a, b) => a.Value.LastUsed.CompareTo(b.Value.LastUsed));
                foreach (var (key, entry) in snapshot)
                {
                    if (Count <= max)
                    {
                        break;
                    }

                    Remove(key, entry);
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

    private Entry NewEntry(PitchlyTokenRecord record) => new(record, _timeProvider.GetUtcNow().UtcTicks);

    private bool TryAdd(PitchlyTokenKey key, Entry entry)
    {
        int count;
        _shrinker.EnterWrite();
        try
        {
            if (!_records.TryAdd(key, entry))
            {
                return false;
            }

            // Counted with the add, inside the gate.
            count = Interlocked.Increment(ref _count);
        }
        finally
        {
            _shrinker.ExitWrite();
        }

        _shrinker.NoteCount(count);
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

    private bool Remove(PitchlyTokenKey key, Entry entry)
    {
        _shrinker.EnterWrite();
        try
        {
            if (!_records.TryRemove(new KeyValuePair<PitchlyTokenKey, Entry>(key, entry)))
            {
                return false;
            }

            Interlocked.Decrement(ref _count);
            return true;
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    /// <summary>Replaces <paramref name="current"/> with <paramref name="entry"/> if it is still the key's entry.</summary>
    private bool Replace(PitchlyTokenKey key, Entry entry, Entry current)
    {
        _shrinker.EnterWrite();
        try
        {
            return _records.TryUpdate(key, entry, current);
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

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
        while (_records.TryGetValue(key, out var current) && current.Record.Version == expectedVersion)
        {
            if (next(current.Record) is not { } replacement)
            {
                return null;
            }

            if (Replace(key, NewEntry(replacement), current))
            {
                return replacement;
            }
        }

        return null;
    }

    /// <summary>A record and when it was last read or written (UTC ticks), for the time-to-live and the eviction order.</summary>
    private sealed class Entry(PitchlyTokenRecord record, long lastUsed)
    {
        private long _lastUsed = lastUsed;

        public PitchlyTokenRecord Record { get; } = record;

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

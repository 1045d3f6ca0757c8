using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The default store for a single instance. Records live in process memory only, so no encryption: a process that
/// can read them can read the Data Protection keys too. Versions come from one counter shared by all keys, so a
/// removed-then-recreated record never repeats a version a stale writer may still hold (no ABA). Refresh intents
/// live in the record, on this process's clock, like any other field.
/// </summary>
internal sealed class InMemoryPitchlyTokenStore : IPitchlyTokenStore
{
    private readonly ConcurrentDictionary<PitchlyTokenKey, PitchlyTokenRecord> _records = new();
    private readonly TimeProvider _timeProvider;
    private long _lastVersion;

    public InMemoryPitchlyTokenStore()
        : this(TimeProvider.System)
    {
    }

    public InMemoryPitchlyTokenStore(TimeProvider timeProvider) => _timeProvider = timeProvider;

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ValueTask.FromResult(_records.TryGetValue(key, out var record) ? record : null);
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = null };
        _records[key] = stored;
        return ValueTask.FromResult(stored);
    }

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion), RefreshIntent = null };
        if (expectedVersion == 0)
        {
            return ValueTask.FromResult(_records.TryAdd(key, stored) ? stored : null);
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
        if (expectedVersion is null)
        {
            return ValueTask.FromResult(_records.TryRemove(key, out _));
        }

        return ValueTask.FromResult(
            _records.TryGetValue(key, out var current)
            && current.Version == expectedVersion
            && _records.TryRemove(new KeyValuePair<PitchlyTokenKey, PitchlyTokenRecord>(key, current)));
    }

    /// <summary>
    /// Replaces the record while its version is still <paramref name="expectedVersion"/>, with what <paramref name="next"/>
    /// makes of it (<see langword="null"/>: refused). TryUpdate fails only if another writer won the race, so it retries.
    /// </summary>
    private PitchlyTokenRecord? TryUpdate(PitchlyTokenKey key, long expectedVersion, Func<PitchlyTokenRecord, PitchlyTokenRecord?> next)
    {
        while (_records.TryGetValue(key, out var current) && current.Version == expectedVersion)
        {
            if (next(current) is not { } replacement)
            {
                return null;
            }

            if (_records.TryUpdate(key, replacement, current))
            {
                return replacement;
            }
        }

        return null;
    }
}

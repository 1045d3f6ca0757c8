using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The default store for a single instance. Records live in process memory only, so no encryption: a process that
/// can read them can read the Data Protection keys too. Versions come from one counter shared by all keys, so a
/// removed-then-recreated record never repeats a version a stale writer may still hold (no ABA).
/// </summary>
internal sealed class InMemoryPitchlyTokenStore : IPitchlyTokenStore
{
    private readonly ConcurrentDictionary<PitchlyTokenKey, PitchlyTokenRecord> _records = new();
    private long _lastVersion;

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ValueTask.FromResult(_records.TryGetValue(key, out var record) ? record : null);
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion) };
        _records[key] = stored;
        return ValueTask.FromResult(stored);
    }

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with { Version = Interlocked.Increment(ref _lastVersion) };
        if (expectedVersion == 0)
        {
            return ValueTask.FromResult(_records.TryAdd(key, stored) ? stored : null);
        }

        // Retry while the stored version is still the expected one: TryUpdate fails only if another writer won the race.
        while (_records.TryGetValue(key, out var current) && current.Version == expectedVersion)
        {
            if (_records.TryUpdate(key, stored, current))
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(stored);
            }
        }

        return ValueTask.FromResult<PitchlyTokenRecord?>(null);
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
}

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// A model of the Redis store's scripts (begin-refresh.lua, compare-and-swap.lua, set.lua, remove.lua): each call is one
/// atomic step judged on the server's clock, as a Lua script is. <see cref="Breakage"/> plants the faults the
/// systematic tests must catch.
/// </summary>
internal sealed class ScriptedTokenStore(TimeProvider serverClock, Breakage breakage) : IPitchlyTokenStore
{
    private readonly object _gate = new();
    private readonly Dictionary<PitchlyTokenKey, PitchlyTokenRecord> _records = [];
    private long _lastVersion;

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(key));
        }
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var stored = record with { Version = ++_lastVersion, RefreshIntent = null };
            _records[key] = stored;
            return ValueTask.FromResult(stored);
        }
    }

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var current = _records.GetValueOrDefault(key);
            var matches = expectedVersion == 0 ? current is null : current is not null && current.Version == expectedVersion;
            if (!matches && !(breakage.HasFlag(Breakage.CompareAndSwapIgnoresVersion) && current is not null && expectedVersion != 0))
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(null);
            }

            var stored = record with { Version = ++_lastVersion, RefreshIntent = null };
            _records[key] = stored;
            return ValueTask.FromResult<PitchlyTokenRecord?>(stored);
        }
    }

    public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var current = _records.GetValueOrDefault(key);
            if (current is null || (current.Version != expectedVersion && !breakage.HasFlag(Breakage.CompareAndSwapIgnoresVersion)))
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(null);
            }

            var now = serverClock.GetUtcNow();
            if (current.RefreshIntent is { } live && live.Owner != owner && live.Deadline > now && !breakage.HasFlag(Breakage.FenceIgnoresLiveOwner))
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(null);
            }

            var fenced = current with { Version = ++_lastVersion, RefreshIntent = new PitchlyRefreshIntent(owner, now + lifetime) };
            _records[key] = fenced;
            return ValueTask.FromResult<PitchlyTokenRecord?>(fenced);
        }
    }

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_records.TryGetValue(key, out var current) || (expectedVersion is { } expected && current.Version != expected))
            {
                return ValueTask.FromResult(false);
            }

            _records.Remove(key);
            return ValueTask.FromResult(true);
        }
    }
}

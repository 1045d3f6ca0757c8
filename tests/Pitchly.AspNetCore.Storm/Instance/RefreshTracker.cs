using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>Counts, per key, the refreshes this instance has finished (the lock taken, the store re-read, maybe a token request).</summary>
internal sealed class RefreshTracker
{
    private readonly ConcurrentDictionary<PitchlyTokenKey, StrongBox> _ended = new();

    public long Ended(PitchlyTokenKey key) => Volatile.Read(ref _ended.GetOrAdd(key, static _ => new StrongBox()).Value);

    public void OnEnded(PitchlyTokenKey key) => Interlocked.Increment(ref _ended.GetOrAdd(key, static _ => new StrongBox()).Value);

    private sealed class StrongBox
    {
        public long Value;
    }
}

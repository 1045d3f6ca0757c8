using System.Collections.Concurrent;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Callers waiting in this instance for a key's record to change (<see cref="ITokenChangeSignal"/>), woken by the
/// announcement of a write. One signal per hashed key, shared by all its waiters and removed by the announcement.
/// </summary>
internal sealed class RedisChangeWaiters(TimeProvider timeProvider)
{
    // One entry per key a refresh is waiting on, removed when a write to that key is announced; a key whose write never
    // comes keeps its entry (not yet bounded, as it was before this type was split out of the store).
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public async Task WaitAsync(string hash, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // A change announced before the waiter joined is caught by its caller's next read (the timeout is the polling
        // fallback).
        var changed = _waiters.GetOrAdd(hash, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await changed.Task.WaitAsync(timeout, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            // No announcement in time: the caller reads the record again anyway.
        }
    }

    /// <summary>Wakes every waiter of <paramref name="hash"/>.</summary>
    public void Signal(string hash)
    {
        if (_waiters.TryRemove(hash, out var waiters))
        {
            waiters.TrySetResult();
        }
    }
}

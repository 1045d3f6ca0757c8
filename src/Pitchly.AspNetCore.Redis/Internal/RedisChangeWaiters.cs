using System.Collections.Concurrent;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Callers waiting in this instance for a key's record to change (<see cref="ITokenChangeSignal"/>), woken by the
/// announcement of a write. One signal per hashed key, shared by all its waiters, removed by the announcement or by its
/// last waiter leaving (woken, timed out or cancelled): the signals are never more than the callers waiting now, and
/// a key no write comes for leaves nothing behind.
/// </summary>
internal sealed class RedisChangeWaiters(TimeProvider timeProvider)
{
    // One signal per key with a caller waiting now; it leaves with the write announced or its last waiter.
    private readonly ConcurrentDictionary<string, KeySignal> _waiters = new(StringComparer.Ordinal);

    /// <summary>Gets how many keys have waiters (for tests).</summary>
    public int Count => _waiters.Count;

    public async Task WaitAsync(string hash, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // A change announced before the waiter joined is caught by its caller's next read (the timeout is the polling
        // fallback).
        var signal = Join(hash);
        try
        {
            await signal.Changed.Task.WaitAsync(timeout, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            // No announcement in time: the caller reads the record again anyway.
        }
        finally
        {
            Leave(hash, signal);
        }
    }

    /// <summary>Wakes every waiter of <paramref name="hash"/>.</summary>
    public void Signal(string hash)
    {
        if (_waiters.TryRemove(hash, out var signal))
        {
            lock (signal)
            {
                signal.Retired = true;
            }

            signal.Changed.TrySetResult();
        }
    }

    private KeySignal Join(string hash)
    {
        while (true)
        {
            var signal = _waiters.GetOrAdd(hash, static _ => new KeySignal());
            lock (signal)
            {
                // A signal its last waiter just left (or an announcement just took) is out of the map: joining it would
                // wait on what no announcement completes, so take the key's current one.
                if (!signal.Retired)
                {
                    signal.Waiters++;
                    return signal;
                }
            }
        }
    }

    private void Leave(string hash, KeySignal signal)
    {
        lock (signal)
        {
            if (--signal.Waiters > 0 || signal.Retired)
            {
                return;
            }

            signal.Retired = true;
        }

        _waiters.TryRemove(new KeyValuePair<string, KeySignal>(hash, signal));
    }

    private sealed class KeySignal
    {
        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }

        public bool Retired { get; set; }
    }
}

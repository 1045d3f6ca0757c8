using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Per-key backoff after a failed refresh: until <see cref="PitchlyTokenManagementOptions.FailedRenewalRetryInterval"/>
/// has passed, a call whose access token is still valid uses it instead of starting another renewal, so a token
/// endpoint answering <c>temporarily_unavailable</c> or a 5xx gets at most one grant per key per interval from this
/// instance. A refresh for a rejected token is never held back (the replay rule is unchanged).
/// </summary>
/// <remarks>
/// Bounded: a key has an entry only from a failed refresh until the interval has passed or a refresh succeeds, and never
/// more than <see cref="MaxKeys"/> keys at once (past that a failure is not remembered and the key renews as before).
/// Expired entries are dropped by a timer running once per interval, off every request path; a request only reads its
/// own key's entry. The success path costs one volatile read while no key is backing off.
/// </remarks>
internal sealed class RenewalBackoff : IDisposable
{
    /// <summary>The most keys backing off at once.</summary>
    internal const int MaxKeys = 65_536;

    // At most MaxKeys; a key leaves on success or, once its interval has passed, on the sweep (see the remarks). Its
    // bucket array never shrinks, so once the sweep finds a quarter of the peak or less the map is replaced by a
    // right-sized copy (_shrinker; every change goes through its gate).
    private ConcurrentDictionary<PitchlyTokenKey, DateTimeOffset> _retryAt = new();
    private readonly ShrinkGate _shrinker = new();
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly LazySweepTimer _sweeper;
    private int _count;

    public RenewalBackoff(IOptionsMonitor<PitchlyTokenManagementOptions> options, TimeProvider timeProvider)
    {
        _options = options;
        _timeProvider = timeProvider;
        _sweeper = new LazySweepTimer(timeProvider, Sweep, () => _options.CurrentValue.FailedRenewalRetryInterval);
    }

    /// <summary>Gets how many keys have an entry (backing off, or expired and not yet swept).</summary>
    public int TrackedKeys => Volatile.Read(ref _count);

    /// <summary>Gets the gate that guards changes to the entries against the sweep's swap (for tests).</summary>
    internal ShrinkGate Shrinker => _shrinker;

    /// <summary>Whether a renewal of <paramref name="key"/> waits: one failed less than the interval ago.</summary>
    public bool IsBackingOff(PitchlyTokenKey key, DateTimeOffset now)
        => Volatile.Read(ref _count) != 0 && _retryAt.TryGetValue(key, out var retryAt) && now < retryAt;

    /// <summary>A refresh of <paramref name="key"/> failed with an error that may pass: hold renewals back.</summary>
    public void Failed(PitchlyTokenKey key)
    {
        DateTimeOffset retryAt;
        try
        {
            retryAt = _timeProvider.GetUtcNow() + _options.CurrentValue.FailedRenewalRetryInterval;
        }
        catch (OptionsValidationException)
        {
            return; // The refresh failed for these very options: nothing to wait for, and its callers must hear of it.
        }

        while (true)
        {
            if (_retryAt.TryGetValue(key, out var previous))
            {
                if (TryUpdate(key, retryAt, previous))
                {
                    return;
                }

                continue; // Swept or cleared meanwhile: add it again.
            }

            if (Volatile.Read(ref _count) >= MaxKeys)
            {
                return;
            }

            if (TryAdd(key, retryAt))
            {
                _sweeper.Start(); // With the first failure: none runs while every renewal succeeds.
                return;
            }
        }
    }

    /// <summary>A refresh of <paramref name="key"/> succeeded: its entry goes.</summary>
    public void Succeeded(PitchlyTokenKey key)
    {
        if (Volatile.Read(ref _count) != 0)
        {
            TryRemove(new KeyValuePair<PitchlyTokenKey, DateTimeOffset>(key, default), anyValue: true);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _sweeper.Dispose();

    /// <summary>
    /// Drops the entries whose interval has passed: one pass over the keys backing off, on the timer; then replaces the
    /// map by a right-sized copy if a quarter of its peak or less is left (see <see cref="ShrinkGate"/>).
    /// </summary>
    internal void Sweep()
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var entry in _retryAt)
        {
            if (entry.Value <= now)
            {
                TryRemove(entry, anyValue: false);
            }
        }

        _shrinker.TryShrink(TrackedKeys, () => Volatile.Write(ref _retryAt, ShrinkGate.Copy(_retryAt)));
    }

    // The changes to the map, each inside the shrink gate (never nested), counted with the change.
    private bool TryUpdate(PitchlyTokenKey key, DateTimeOffset retryAt, DateTimeOffset previous)
    {
        _shrinker.EnterWrite();
        try
        {
            return _retryAt.TryUpdate(key, retryAt, previous);
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }

    private bool TryAdd(PitchlyTokenKey key, DateTimeOffset retryAt)
    {
        int count;
        _shrinker.EnterWrite();
        try
        {
            if (!_retryAt.TryAdd(key, retryAt))
            {
                return false;
            }

            count = Interlocked.Increment(ref _count);
        }
        finally
        {
            _shrinker.ExitWrite();
        }

        _shrinker.NoteCount(count);
        return true;
    }

    /// <summary>Removes <paramref name="entry"/>'s key: whatever its value if <paramref name="anyValue"/>, else only at that value.</summary>
    private void TryRemove(KeyValuePair<PitchlyTokenKey, DateTimeOffset> entry, bool anyValue)
    {
        _shrinker.EnterWrite();
        try
        {
            if (anyValue ? _retryAt.TryRemove(entry.Key, out _) : _retryAt.TryRemove(entry))
            {
                Interlocked.Decrement(ref _count);
            }
        }
        finally
        {
            _shrinker.ExitWrite();
        }
    }
}

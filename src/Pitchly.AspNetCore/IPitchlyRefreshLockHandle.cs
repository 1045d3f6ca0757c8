namespace Pitchly.AspNetCore;

/// <summary>A held refresh lock; disposing it releases the lock if it is still held by this owner.</summary>
public interface IPitchlyRefreshLockHandle : IAsyncDisposable
{
    /// <summary>
    /// Gets a token that is cancelled when the lock is known to be lost (its lease expired or was taken), so the
    /// holder stops before writing on the strength of a lock it no longer has.
    /// </summary>
    CancellationToken LockLost { get; }

    /// <summary>
    /// Extends the lock so that it lasts at least <paramref name="duration"/> from now: a holder about to send a token
    /// request covers the request with the lock, so other instances keep waiting for the lock rather than at the
    /// record's fence. Best effort: correctness never depends on it (the refresh intent in the record does that).
    /// </summary>
    /// <param name="duration">How long the lock must last from now.</param>
    /// <param name="cancellationToken">Stops waiting for the lock's backing service.</param>
    /// <returns><see langword="true"/> when the lock is known to be extended.</returns>
    ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
}

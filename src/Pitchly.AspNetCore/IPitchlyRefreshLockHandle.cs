namespace Pitchly.AspNetCore;

/// <summary>A held refresh lock; disposing it releases the lock if it is still held by this owner.</summary>
public interface IPitchlyRefreshLockHandle : IAsyncDisposable
{
    /// <summary>
    /// Gets a token that is cancelled when the lock is known to be lost (its lease expired or was taken), so the
    /// holder stops before writing on the strength of a lock it no longer has.
    /// </summary>
    CancellationToken LockLost { get; }
}

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Implemented by refresh locks shared with other instances (the Redis lock), so that a proactive renewal can step
/// aside when another instance is already renewing: the current token is still valid, and waiting for the other
/// holder's refresh would only delay the calls that need it.
/// </summary>
internal interface IRefreshLockProbe
{
    /// <summary>
    /// Acquires the lock of <paramref name="key"/> if no one holds it; returns <see langword="null"/> at once, without
    /// waiting, if someone does.
    /// </summary>
    ValueTask<IPitchlyRefreshLockHandle?> TryAcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken);
}

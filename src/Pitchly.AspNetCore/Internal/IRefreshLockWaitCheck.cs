namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Implemented by refresh locks shared with other instances (the Redis lock), so that a refresh waiting for the lock
/// can stop waiting once the holder's write has made it unnecessary: it reads the record without the lock when it is
/// woken, instead of taking the lock in turn only to read the record under it.
/// </summary>
internal interface IRefreshLockWaitCheck
{
    /// <summary>
    /// Acquires the lock of <paramref name="key"/>, waiting while someone holds it; whenever the wait goes on (the lock
    /// was held, or the waiter was woken), <paramref name="stillNeeded"/> reads the record first. Returns
    /// <see langword="null"/>, without the lock, as soon as <paramref name="stillNeeded"/> does.
    /// </summary>
    /// <param name="key">The key whose lock is wanted.</param>
    /// <param name="stillNeeded">
    /// Reads the record and returns its version (0 when there is none) while the lock is still needed, or
    /// <see langword="null"/> when what it read makes the lock unnecessary (the caller then uses that record). It only
    /// reads: no token request is ever sent on its answer.
    /// </param>
    /// <param name="cancellationToken">Stops waiting.</param>
    ValueTask<IPitchlyRefreshLockHandle?> AcquireUnlessUnneededAsync(
        PitchlyTokenKey key,
        Func<CancellationToken, ValueTask<long?>> stillNeeded,
        CancellationToken cancellationToken);
}

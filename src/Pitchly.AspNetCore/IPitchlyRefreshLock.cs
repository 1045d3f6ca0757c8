namespace Pitchly.AspNetCore;

/// <summary>
/// Grants one holder at a time, across every instance that shares it, the right to refresh the tokens of a key.
/// An efficiency lock: correctness comes from re-reading the store after acquiring it, from the refresh intent (fence)
/// written into the record before a refresh token is presented, and from compare-and-swap writes.
/// </summary>
/// <remarks>
/// The default, for a single instance, grants at once (in-process single flight already serialises refreshes);
/// the Redis implementation is a leased <c>SET NX PX</c> lock renewed while held.
/// </remarks>
public interface IPitchlyRefreshLock
{
    /// <summary>Waits until the lock of <paramref name="key"/> is held by the caller.</summary>
    /// <param name="key">The key whose tokens are about to be refreshed.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A handle whose disposal releases the lock.</returns>
    /// <exception cref="PitchlyTokenStoreUnavailableException">The lock's backing service cannot be reached.</exception>
    /// <exception cref="PitchlyRefreshLockTimeoutException">The lock was not granted within the configured wait (a <see cref="TimeoutException"/> is taken to mean the same).</exception>
    ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default);
}

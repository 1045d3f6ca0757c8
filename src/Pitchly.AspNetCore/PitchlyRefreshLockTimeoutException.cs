namespace Pitchly.AspNetCore;

/// <summary>
/// The refresh lock of a key was not granted within its wait (with Redis, <c>Pitchly:Redis:LockWaitTimeout</c>): another
/// instance held it longer. Nothing was refreshed, so no refresh token was spent; retryable. Implementations of
/// <see cref="IPitchlyRefreshLock"/> throw it when they give up waiting; a <see cref="TimeoutException"/> from a lock is
/// turned into one by the token manager.
/// </summary>
public class PitchlyRefreshLockTimeoutException : PitchlyRefreshTimeoutException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyRefreshLockTimeoutException()
        : this("The Pitchly refresh lock was not granted in time; nothing was refreshed. Retry later.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyRefreshLockTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyRefreshLockTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a key whose lock was not granted in time.</summary>
    /// <param name="key">The key whose lock was not granted.</param>
    /// <param name="timeout">How long the lock was waited for, when known.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlyRefreshLockTimeoutException(PitchlyTokenKey key, TimeSpan? timeout, string message, Exception? innerException = null)
        : base(key, timeout, message, innerException)
    {
    }
}

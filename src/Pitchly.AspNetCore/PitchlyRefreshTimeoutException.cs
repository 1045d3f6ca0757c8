namespace Pitchly.AspNetCore;

/// <summary>
/// A refresh of a key's tokens did not complete in time: the shared refresh ran past
/// <see cref="PitchlyTokenManagementOptions.RefreshTimeout"/> (the token endpoint or the store answered too slowly, or the
/// key's lock was held elsewhere), or, as <see cref="PitchlyRefreshLockTimeoutException"/>, the key's refresh lock was
/// not granted within its wait. Retryable: the refresh tokens are kept as they were, or stored by the refresh that goes
/// on; a later call uses whatever tokens the key then has.
/// </summary>
/// <remarks>
/// Not a <see cref="TimeoutException"/> (an exception has one base, and this one is a <see cref="PitchlyException"/>):
/// catch this type, or any <see cref="PitchlyException"/> whose <see cref="PitchlyException.IsRetryable"/> is
/// <see langword="true"/>.
/// </remarks>
public class PitchlyRefreshTimeoutException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyRefreshTimeoutException()
        : this("The refresh of the Pitchly tokens did not complete in time; retry later.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyRefreshTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyRefreshTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a key whose refresh ran out of time.</summary>
    /// <param name="key">The key whose refresh ran out of time.</param>
    /// <param name="timeout">The time it was given, when known.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlyRefreshTimeoutException(PitchlyTokenKey key, TimeSpan? timeout, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
        Timeout = timeout;
    }

    /// <summary>Gets the key whose refresh ran out of time, when known.</summary>
    public PitchlyTokenKey? Key { get; }

    /// <summary>Gets the time the refresh (or the wait for its lock) was given, when known.</summary>
    public TimeSpan? Timeout { get; }

    /// <inheritdoc/>
    /// <remarks>Always <see langword="true"/>.</remarks>
    public override bool IsRetryable => true;
}

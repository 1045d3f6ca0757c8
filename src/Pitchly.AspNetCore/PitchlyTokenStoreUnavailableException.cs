namespace Pitchly.AspNetCore;

/// <summary>
/// The shared token store or refresh lock (Redis in web-farm mode) cannot be reached. Retryable: nothing was
/// refreshed, so no refresh token was spent.
/// </summary>
public class PitchlyTokenStoreUnavailableException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyTokenStoreUnavailableException()
        : this("The Pitchly token store is unavailable. No token was refreshed; retry later.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyTokenStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyTokenStoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    /// <remarks>Always <see langword="true"/>: nothing was refreshed, so no refresh token was spent.</remarks>
    public override bool IsRetryable => true;
}

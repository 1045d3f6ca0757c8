namespace Pitchly.AspNetCore;

/// <summary>
/// Pitchly (or something between the app and Pitchly) kept rejecting freshly issued access tokens of a key, with no call
/// of that key succeeding in between, so refreshing that key is paused until <see cref="RetryAfter"/> rather than
/// rotating tokens in a loop. Typical causes: a proxy or gateway answering 401 to every call, the app's access revoked,
/// or the GraphQL endpoint of another environment. Retryable once the cause is fixed.
/// </summary>
public class PitchlyTokenRejectedException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyTokenRejectedException()
        : this("Pitchly rejected every freshly issued access token; refreshing is paused.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyTokenRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyTokenRejectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a key whose refreshing is paused.</summary>
    /// <param name="key">The key whose tokens keep being rejected.</param>
    /// <param name="retryAfter">When refreshing the key is tried again.</param>
    /// <param name="message">What went wrong.</param>
    public PitchlyTokenRejectedException(PitchlyTokenKey key, DateTimeOffset retryAfter, string message)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the key whose tokens keep being rejected, when known.</summary>
    public PitchlyTokenKey? Key { get; }

    /// <summary>Gets when refreshing the key is tried again, when known.</summary>
    public override DateTimeOffset? RetryAfter { get; }

    /// <inheritdoc/>
    /// <remarks>Always <see langword="true"/>: refreshing resumes at <see cref="RetryAfter"/>.</remarks>
    public override bool IsRetryable => true;
}

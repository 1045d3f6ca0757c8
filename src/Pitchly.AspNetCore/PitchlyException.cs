namespace Pitchly.AspNetCore;

/// <summary>
/// The base of every exception Pitchly.AspNetCore raises. Messages never contain a token or secret.
/// <see cref="IsRetryable"/> says whether the same call may succeed later unchanged; <c>app.UsePitchlySignInRequiredChallenge()</c>
/// answers such failures 503 with <c>Retry-After</c>, and every other one with a status that says what went wrong.
/// </summary>
public class PitchlyException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public PitchlyException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// Gets whether the same call may succeed if it is made again later, unchanged: the failure was transient (the token
    /// store or Pitchly could not be reached, a refresh or lock wait ran out of time) and nothing was spent that a retry
    /// would need. <see langword="false"/> when a retry alone cannot help (a sign-in, a configuration change or a
    /// permission is needed).
    /// </summary>
    public virtual bool IsRetryable => false;

    /// <summary>
    /// Gets the earliest time a retry is expected to succeed, when the package knows it (for example when refreshing a
    /// key is paused); <see langword="null"/> otherwise.
    /// </summary>
    public virtual DateTimeOffset? RetryAfter => null;
}

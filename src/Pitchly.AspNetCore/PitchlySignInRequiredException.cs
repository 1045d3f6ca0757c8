namespace Pitchly.AspNetCore;

/// <summary>
/// There are no usable Pitchly tokens for a key: nobody is signed in, the key has no tokens, or Pitchly refused the
/// refresh token (<c>invalid_grant</c>). The user must sign in again; in interactive requests
/// <c>app.UsePitchlySignInRequiredChallenge()</c> turns this exception into a sign-in challenge.
/// </summary>
public class PitchlySignInRequiredException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlySignInRequiredException()
        : this("There are no valid Pitchly tokens for the current user; the user must sign in with Pitchly again.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlySignInRequiredException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlySignInRequiredException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a key whose tokens are missing or were refused.</summary>
    /// <param name="key">The key whose tokens are missing or were refused.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlySignInRequiredException(PitchlyTokenKey key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
    }

    /// <summary>Gets the key whose tokens are missing or were refused; <see langword="null"/> when nobody is signed in.</summary>
    public PitchlyTokenKey? Key { get; }
}

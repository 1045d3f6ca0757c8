namespace Pitchly.AspNetCore;

/// <summary>The base of every exception Pitchly.AspNetCore raises. Messages never contain a token or secret.</summary>
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
}

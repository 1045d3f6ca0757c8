namespace Pitchly.AspNetCore;

/// <summary>
/// A Pitchly subscription ended because it could not go on: Pitchly closed it for a reason a new connection would not
/// change (a protocol error, close code 4400 or 4409), kept rejecting freshly refreshed access tokens (close code 4403,
/// without any event or acknowledgement in between), or sent a message that is not graphql-ws. Messages never contain
/// a token.
/// </summary>
public class PitchlySubscriptionException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlySubscriptionException()
        : this("The Pitchly subscription ended with an error.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlySubscriptionException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlySubscriptionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the close code of the connection.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="closeStatus">The WebSocket close code Pitchly sent (for example 4403), if any.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlySubscriptionException(string message, int? closeStatus, Exception? innerException = null)
        : base(message, innerException)
    {
        CloseStatus = closeStatus;
    }

    /// <summary>Gets the WebSocket close code of the connection that ended the subscription, when Pitchly sent one.</summary>
    public int? CloseStatus { get; }
}

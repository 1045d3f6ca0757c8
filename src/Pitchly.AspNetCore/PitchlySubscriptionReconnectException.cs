namespace Pitchly.AspNetCore;

/// <summary>
/// A Pitchly subscription lost its connection and could not re-establish it within
/// <see cref="PitchlySubscriptionClientOptions.MaxReconnectAttempts"/> attempts. The inner exception is the last
/// attempt's failure. Subscribing again later starts over.
/// </summary>
public class PitchlySubscriptionReconnectException : PitchlySubscriptionException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlySubscriptionReconnectException()
        : this("The Pitchly subscription lost its connection and could not re-establish it.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlySubscriptionReconnectException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The last attempt's failure.</param>
    public PitchlySubscriptionReconnectException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the number of attempts made.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="attempts">How many attempts to re-establish the connection failed.</param>
    /// <param name="closeStatus">The WebSocket close code of the last attempt, if Pitchly sent one.</param>
    /// <param name="innerException">The last attempt's failure, if any.</param>
    public PitchlySubscriptionReconnectException(string message, int attempts, int? closeStatus, Exception? innerException = null)
        : base(message, closeStatus, innerException)
    {
        Attempts = attempts;
    }

    /// <summary>Gets how many attempts to re-establish the connection failed.</summary>
    public int Attempts { get; }

    /// <inheritdoc/>
    /// <remarks>Always <see langword="true"/>: the connection was lost; subscribing again later starts over.</remarks>
    public override bool IsRetryable => true;
}

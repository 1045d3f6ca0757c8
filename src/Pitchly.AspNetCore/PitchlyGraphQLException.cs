namespace Pitchly.AspNetCore;

/// <summary>
/// Pitchly's GraphQL API answered with errors, or with something that is not a GraphQL response (HTML from a proxy,
/// an oversized body, JSON of another shape). The message holds at most a short excerpt of a non-GraphQL answer, with
/// anything that looks like a token removed. Pitchly's error messages, in the message and in <see cref="Errors"/>, are
/// redacted of the request's token and secret-named variables and of anything that looks like a secret
/// (see <see cref="PitchlyGraphQLError.Message"/>); the unredacted text is not kept.
/// </summary>
public class PitchlyGraphQLException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyGraphQLException()
        : this("Pitchly's GraphQL API answered with an error.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyGraphQLException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyGraphQLException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the details of the answer.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="errors">The GraphQL errors of the answer; empty when it was not a GraphQL response.</param>
    /// <param name="statusCode">The HTTP status code of the answer.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlyGraphQLException(string message, IReadOnlyList<PitchlyGraphQLError> errors, int? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Errors = errors;
        StatusCode = statusCode;
    }

    /// <summary>Gets the GraphQL errors of the answer; empty when it was not a GraphQL response.</summary>
    public IReadOnlyList<PitchlyGraphQLError> Errors { get; } = [];

    /// <summary>Gets the HTTP status code of the answer, when one arrived.</summary>
    public int? StatusCode { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// <see langword="true"/> when the answer's HTTP status says the API or a proxy in front of it is unavailable for now
    /// (408, 429, 502, 503, 504); errors in a GraphQL answer are not retryable as such.
    /// </remarks>
    public override bool IsRetryable => StatusCode is 408 or 429 or 502 or 503 or 504;
}

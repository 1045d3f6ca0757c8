namespace Pitchly.AspNetCore;

/// <summary>
/// Pitchly refused an operation for lack of permission (<c>FORBIDDEN</c>, legacy <c>not-authorized</c>, or HTTP 403):
/// the token is valid but its scope, the app's install or the person's role does not allow the operation. Refreshing
/// the token would not change the answer, so none was attempted.
/// </summary>
public class PitchlyNotAuthorizedException : PitchlyGraphQLException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyNotAuthorizedException()
        : this("Pitchly refused the operation: the credential lacks the permission it needs.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyNotAuthorizedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyNotAuthorizedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the details of the answer.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="errors">The GraphQL errors of the answer.</param>
    /// <param name="statusCode">The HTTP status code of the answer.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlyNotAuthorizedException(string message, IReadOnlyList<PitchlyGraphQLError> errors, int? statusCode, Exception? innerException = null)
        : base(message, errors, statusCode, innerException)
    {
    }

    /// <inheritdoc/>
    /// <remarks>Always <see langword="false"/>: the same credential gets the same refusal.</remarks>
    public override bool IsRetryable => false;
}

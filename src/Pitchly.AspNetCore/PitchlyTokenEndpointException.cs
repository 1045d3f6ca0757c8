namespace Pitchly.AspNetCore;

/// <summary>
/// Pitchly's token endpoint refused a grant, answered something that is not a token response, or could not be
/// reached. The message names the grant, the HTTP status and the OAuth error code; it never contains a token, a
/// secret or the response body.
/// </summary>
public class PitchlyTokenEndpointException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyTokenEndpointException()
        : this("Pitchly's token endpoint failed.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyTokenEndpointException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyTokenEndpointException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the details of the failed request.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="error">The OAuth <c>error</c> code Pitchly answered, if any.</param>
    /// <param name="statusCode">The HTTP status code Pitchly answered, if a response arrived.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PitchlyTokenEndpointException(string message, string? error, int? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
        StatusCode = statusCode;
    }

    /// <summary>Gets the OAuth <c>error</c> code Pitchly answered (for example <c>invalid_client</c>), if any.</summary>
    public string? Error { get; }

    /// <summary>Gets the HTTP status code of Pitchly's answer; <see langword="null"/> when no response arrived.</summary>
    public int? StatusCode { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// <see langword="true"/> when Pitchly could not be reached or did not answer in time (<see cref="StatusCode"/> is
    /// <see langword="null"/> and there is an underlying cause), answered a status a server or proxy gives while it is
    /// unavailable (408, 429, 5xx), or the OAuth error <c>temporarily_unavailable</c> or <c>server_error</c>.
    /// <see langword="false"/> when Pitchly refused the grant for a reason a retry does not change (<c>invalid_client</c>,
    /// <c>invalid_scope</c>, …), answered something that is not a token response with a success status, or the client
    /// credentials are not configured.
    /// </remarks>
    public override bool IsRetryable => Error switch
    {
        "temporarily_unavailable" or "server_error" => true,
        not null => StatusCode is >= 500,
        null => StatusCode is null ? InnerException is not null : StatusCode is 408 or 429 or >= 500,
    };
}

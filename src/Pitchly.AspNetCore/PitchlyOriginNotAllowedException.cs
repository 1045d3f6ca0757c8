namespace Pitchly.AspNetCore;

/// <summary>
/// A Pitchly credential handler refused a request because of where it was going: to an origin that is not one of
/// Pitchly's configured endpoints nor in <see cref="PitchlyAccessTokenHandlerOptions.AllowedOrigins"/>, or over plain
/// <c>http</c> to a host that is not loopback. Nothing was sent, and no token, API key or signed token was read or
/// attached. Not retryable: fix the request's URI, or allow the origin.
/// </summary>
public class PitchlyOriginNotAllowedException : PitchlyException
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyOriginNotAllowedException()
        : this("The request was not sent: its origin may not receive a Pitchly credential.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyOriginNotAllowedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyOriginNotAllowedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a refused request.</summary>
    /// <param name="requestUri">The refused request's URI; only its origin is kept, never its path or query.</param>
    /// <param name="message">What went wrong.</param>
    public PitchlyOriginNotAllowedException(Uri? requestUri, string message)
        : base(message)
    {
        Origin = requestUri is { IsAbsoluteUri: true } ? requestUri.GetLeftPart(UriPartial.Authority) : null;
    }

    /// <summary>Gets the refused origin (scheme, host and port, such as <c>https://example.com</c>), when known.</summary>
    public string? Origin { get; }
}

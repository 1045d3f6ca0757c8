using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// What a <see cref="PitchlyException"/> that escapes a request answers: its status, a short code for the problem's
/// <c>error</c> member, a title and a detail written for the caller (never the exception's message, which may name a key),
/// and, for a retryable failure, the <c>Retry-After</c> delay.
/// </summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Error">A stable, machine-readable code (for example <c>store-unavailable</c>).</param>
/// <param name="Title">The problem's title.</param>
/// <param name="Detail">The problem's detail.</param>
/// <param name="RetryAfter">The delay for <c>Retry-After</c>; <see langword="null"/> when a retry alone cannot help.</param>
internal readonly record struct PitchlyFailure(int Status, string Error, string Title, string Detail, TimeSpan? RetryAfter)
{
    /// <summary>The <c>Retry-After</c> of a retryable failure whose exception does not say when to retry.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Gets whether the caller is to sign in again: a user's tokens are gone or were refused.</summary>
    public bool IsSignInRequired => Status == StatusCodes.Status401Unauthorized;

    /// <summary>Gets <see cref="RetryAfter"/> as whole seconds of a <c>Retry-After</c> header (at least 1).</summary>
    public int? RetryAfterSeconds => RetryAfter is { } delay ? (int)Math.Clamp(Math.Ceiling(delay.TotalSeconds), 1, int.MaxValue) : null;

    /// <summary>Describes <paramref name="exception"/>; every <see cref="PitchlyException"/> gets a status other than 500.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="now">The current time, to turn <see cref="PitchlyException.RetryAfter"/> into a delay.</param>
    public static PitchlyFailure Describe(PitchlyException exception, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var failure = exception switch
        {
            PitchlySignInRequiredException { Key: { Kind: not PitchlyTokenKind.User } } => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "install-unavailable", "Pitchly authorization unavailable",
                "The app's Pitchly authorization for this install is missing or was refused; the install must be reconnected.", null),
            PitchlySignInRequiredException => new PitchlyFailure(
                StatusCodes.Status401Unauthorized, "sign-in-required", "Sign-in required",
                "The user's Pitchly session has ended; the user must sign in with Pitchly again.", null),
            PitchlyOrganizationNotRegisteredException => new PitchlyFailure(
                StatusCodes.Status403Forbidden, "organization-not-registered", "Organization not registered",
                "This app is not set up to call Pitchly for that organization's install.", null),
            PitchlyNotAuthorizedException => new PitchlyFailure(
                StatusCodes.Status403Forbidden, "not-authorized", "Not authorized by Pitchly",
                "Pitchly refused the operation: the credential lacks the permission it needs.", null),
            PitchlyTokenRejectedException => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "token-rejected", "Pitchly keeps rejecting fresh tokens",
                "Pitchly, or something between this app and Pitchly, rejected every freshly issued access token; refreshing is paused for a while. Retry later.", null),
            PitchlyRefreshLockTimeoutException => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "refresh-lock-timeout", "Pitchly sign-in busy",
                "Another instance of this app is refreshing the Pitchly tokens and took longer than expected; nothing was lost. Retry later.", null),
            PitchlyRefreshTimeoutException => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "refresh-timeout", "Pitchly sign-in timed out",
                "Refreshing the Pitchly tokens did not complete in time; nothing was lost. Retry later.", null),
            PitchlyTokenStoreUnavailableException => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "store-unavailable", "Pitchly token store unavailable",
                "The store of Pitchly tokens cannot be reached right now; nothing was lost. Retry later.", null),
            PitchlyTokenEndpointException { IsRetryable: true } => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "token-endpoint-unavailable", "Pitchly sign-in unavailable",
                "Pitchly's token endpoint cannot be reached or is unavailable right now. Retry later.", null),
            PitchlyTokenEndpointException => new PitchlyFailure(
                StatusCodes.Status502BadGateway, "token-endpoint-failed", "Pitchly refused the token request",
                "Pitchly's token endpoint refused the app's request or answered something that is not a token response; retrying will not help until the app's Pitchly configuration is fixed.", null),
            PitchlyGraphQLException { IsRetryable: true } => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "graphql-unavailable", "Pitchly unavailable",
                "Pitchly's API is unavailable right now. Retry later.", null),
            PitchlyGraphQLException => new PitchlyFailure(
                StatusCodes.Status502BadGateway, "graphql-failed", "Pitchly answered with an error",
                "Pitchly's API answered the app's request with an error.", null),
            PitchlySubscriptionException { IsRetryable: true } => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "subscription-unavailable", "Pitchly subscription unavailable",
                "The connection to Pitchly's subscription endpoint was lost and could not be re-established. Retry later.", null),
            PitchlySubscriptionException => new PitchlyFailure(
                StatusCodes.Status502BadGateway, "subscription-failed", "Pitchly subscription failed",
                "Pitchly ended the subscription with an error.", null),
            PitchlyOriginNotAllowedException => new PitchlyFailure(
                StatusCodes.Status502BadGateway, "origin-not-allowed", "Call to Pitchly not sent",
                "The app refused to send a Pitchly credential to an origin that is not Pitchly's; nothing was sent.", null),
            { IsRetryable: true } => new PitchlyFailure(
                StatusCodes.Status503ServiceUnavailable, "pitchly-unavailable", "Pitchly unavailable",
                "A call to Pitchly failed for now. Retry later.", null),
            _ => new PitchlyFailure(
                StatusCodes.Status502BadGateway, "pitchly-failed", "Call to Pitchly failed",
                "A call to Pitchly failed.", null),
        };

        if (!exception.IsRetryable)
        {
            return failure;
        }

        var delay = exception.RetryAfter is { } retryAfter ? retryAfter - now : DefaultRetryAfter;
        return failure with
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            RetryAfter = delay > TimeSpan.Zero ? delay : TimeSpan.FromSeconds(1),
        };
    }
}

using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>Log messages of the sign-in handler (event ids 1000–1099). None carries a token, code or secret.</summary>
internal static partial class PitchlyAuthenticationLog
{
    [LoggerMessage(EventId = 1000, EventName = "PitchlySignedIn", Level = LogLevel.Information,
        Message = "Signed in Pitchly person {PersonId} of organization {OrganizationId}; tokens stored, access token valid until {ExpiresAt:O}.")]
    public static partial void SignedIn(this ILogger logger, string personId, string organizationId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1001, EventName = "PitchlyTokenExchangeFailed", Level = LogLevel.Warning,
        Message = "Pitchly sign-in failed at the code exchange: {Problem}")]
    public static partial void TokenExchangeFailed(this ILogger logger, string problem);

    [LoggerMessage(EventId = 1002, EventName = "PitchlyIdentityQueryFailed", Level = LogLevel.Warning,
        Message = "Pitchly sign-in failed at the identity query: {Problem}")]
    public static partial void IdentityQueryFailed(this ILogger logger, string problem);

    [LoggerMessage(EventId = 1003, EventName = "PitchlyExpiresInMissing", Level = LogLevel.Warning,
        Message = "Pitchly's token response carried no expires_in; assuming the access token lives {Lifetime} (PitchlyAuthenticationOptions.DefaultAccessTokenLifetime).")]
    public static partial void ExpiresInMissing(this ILogger logger, TimeSpan lifetime);

    [LoggerMessage(EventId = 1004, EventName = "PitchlyTokensRemoved", Level = LogLevel.Debug,
        Message = "Removed the stored Pitchly tokens of {Key} at sign-out.")]
    public static partial void TokensRemoved(this ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 1005, EventName = "PitchlyTokensNotRemoved", Level = LogLevel.Warning,
        Message = "Signed out without removing the stored Pitchly tokens of {Key}: the token store could not be reached. They stay until they expire or the next sign-in replaces them.")]
    public static partial void TokensNotRemoved(this ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 1006, EventName = "PitchlySignInAccessTokenRejected", Level = LogLevel.Warning,
        Message = "Pitchly refused the access token it had just issued at sign-in (invalidated early); refreshing once with the refresh token issued with it and querying the identity again.")]
    public static partial void SignInAccessTokenRejected(this ILogger logger);
}

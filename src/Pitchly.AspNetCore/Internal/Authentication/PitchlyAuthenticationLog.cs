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
        Message = "Signed out without ending the session of {Key} in the token store: the store could not be reached. The cookie is cleared; the session and tokens stay until the record expires or the person signs out everywhere.")]
    public static partial void TokensNotRemoved(this ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 1006, EventName = "PitchlySignInAccessTokenRejected", Level = LogLevel.Warning,
        Message = "Pitchly refused the access token it had just issued at sign-in (invalidated early); refreshing once with the refresh token issued with it and querying the identity again.")]
    public static partial void SignInAccessTokenRejected(this ILogger logger);

    [LoggerMessage(EventId = 1007, EventName = "PitchlySessionStarted", Level = LogLevel.Debug,
        Message = "Started a session of {Key}; {Sessions} live sessions.")]
    public static partial void SessionStarted(this ILogger logger, PitchlyTokenKey key, int sessions);

    [LoggerMessage(EventId = 1008, EventName = "PitchlyOldestSessionsEnded", Level = LogLevel.Information,
        Message = "Ended the {Dropped} oldest sessions of {Key} at sign-in: a person keeps at most {MaxSessions} live sessions.")]
    public static partial void OldestSessionsEnded(this ILogger logger, PitchlyTokenKey key, int dropped, int maxSessions);

    [LoggerMessage(EventId = 1009, EventName = "PitchlySessionEnded", Level = LogLevel.Debug,
        Message = "Ended a session of {Key} at sign-out ({Outcome}); {Remaining} live sessions remain.")]
    public static partial void SessionEnded(this ILogger logger, PitchlyTokenKey key, SignOutOutcome outcome, int remaining);

    [LoggerMessage(EventId = 1010, EventName = "PitchlySessionNotEnded", Level = LogLevel.Warning,
        Message = "Signed out without ending the session of {Key} in the token store ({Outcome}: the record kept changing or stayed fenced by a refresh). The cookie is cleared; the session stays live until the record expires or the person signs out everywhere.")]
    public static partial void SessionNotEnded(this ILogger logger, PitchlyTokenKey key, SignOutOutcome outcome);

    [LoggerMessage(EventId = 1011, EventName = "PitchlySessionRejected", Level = LogLevel.Information,
        Message = "Rejected an authentication cookie of {Key}: its session has ended (signed out, signed out everywhere, or the tokens are gone).")]
    public static partial void SessionRejected(this ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 1012, EventName = "PitchlySessionNotValidated", Level = LogLevel.Warning,
        Message = "Accepted an authentication cookie of {Key} without checking its session: the token store could not be reached.")]
    public static partial void SessionNotValidated(this ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 1013, EventName = "PitchlySignedOutEverywhere", Level = LogLevel.Information,
        Message = "Signed {Key} out everywhere: every session ended and the stored Pitchly tokens removed.")]
    public static partial void SignedOutEverywhere(this ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 1014, EventName = "PitchlySignOutEverywhereFailed", Level = LogLevel.Warning,
        Message = "Signed out without ending the other sessions of {Key}: the token store could not be reached. The cookie is cleared; the other sessions stay live until the record expires or a later sign-out everywhere succeeds.")]
    public static partial void SignOutEverywhereFailed(this ILogger logger, PitchlyTokenKey key, Exception exception);
}

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>Response headers an instance adds to <c>/work</c> answers so the driver can tell what happened inside.</summary>
public static class StormHeaders
{
    /// <summary>
    /// "1" when the token manager made the call wait for a refresh of the user's tokens: a renewal it started or joined
    /// (the lock, the re-read, a wait at another instance's fence, maybe a token request), or a refresh after Pitchly
    /// rejected the call's token, before its replay. The instance learns it from the manager's
    /// <c>pitchly.token.refresh.wait_time</c>, recorded in the waiting call's own context; a call served from the
    /// store without waiting says "0".
    /// </summary>
    public const string RefreshWaited = "X-Storm-Refresh-Waited";

    /// <summary>
    /// With <see cref="RefreshWaited"/> "1": how long, in milliseconds, the token manager held the call for refreshes
    /// (the sum of its <c>pitchly.token.refresh.wait_time</c> measurements), as the instance measured it.
    /// </summary>
    public const string RefreshWaitMilliseconds = "X-Storm-Refresh-Wait-Ms";

    /// <summary>
    /// The instance endpoint that returns (as a JSON array of milliseconds) and forgets the durations of the token
    /// requests the instance sent since it was last asked.
    /// </summary>
    public const string TokenRequestsPath = "/_storm/token-requests";

    /// <summary>A short fingerprint (truncated SHA-256) of the access token the successful GraphQL call used: never the token.</summary>
    public const string TokenFingerprint = "X-Storm-Token";

    /// <summary>Why a call failed: <c>sign-in-required</c>, <c>store-unavailable</c>, <c>token-endpoint</c>, <c>token-rejected</c> (refreshing paused after freshly issued tokens kept being rejected), <c>graphql</c>, <c>not-signed-in</c>.</summary>
    public const string Outcome = "X-Storm-Outcome";
}

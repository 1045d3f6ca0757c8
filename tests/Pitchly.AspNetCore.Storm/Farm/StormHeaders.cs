namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>Response headers an instance adds to <c>/work</c> answers so the driver can tell what happened inside.</summary>
public static class StormHeaders
{
    /// <summary>
    /// "1" when the call waited on a refresh of the user's tokens: a refresh in this instance (the lock, the re-read and,
    /// if needed, the token request) ended while the call was getting its token, or Pitchly rejected the token and the
    /// call was replayed.
    /// </summary>
    public const string RefreshWaited = "X-Storm-Refresh-Waited";

    /// <summary>A short fingerprint (truncated SHA-256) of the access token the successful GraphQL call used: never the token.</summary>
    public const string TokenFingerprint = "X-Storm-Token";

    /// <summary>Why a call failed: <c>sign-in-required</c>, <c>store-unavailable</c>, <c>token-endpoint</c>, <c>token-rejected</c> (refreshing paused after freshly issued tokens kept being rejected), <c>graphql</c>, <c>not-signed-in</c>.</summary>
    public const string Outcome = "X-Storm-Outcome";
}

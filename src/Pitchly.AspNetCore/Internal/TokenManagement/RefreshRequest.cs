namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>What a shared refresh is for: a key, why, and (when Pitchly rejected it) the rejected access token.</summary>
internal readonly record struct RefreshRequest(PitchlyTokenKey Key, RefreshReason Reason, string? RejectedAccessToken)
{
    /// <summary>A refresh of tokens no caller has seen rejected: a renewal, or the first tokens of an install.</summary>
    public static RefreshRequest Renewal(PitchlyTokenKey key) => new(key, RefreshReason.Renewal, null);

    /// <summary>A refresh after Pitchly rejected <paramref name="rejectedAccessToken"/> (a renewal when it is null).</summary>
    public static RefreshRequest Rejected(PitchlyTokenKey key, string? rejectedAccessToken)
        => rejectedAccessToken is null ? Renewal(key) : new(key, RefreshReason.Rejected, rejectedAccessToken);

    /// <summary>Whether the current access token may still serve: nobody has seen it rejected.</summary>
    public bool CurrentTokenMayServe => Reason != RefreshReason.Rejected;
}

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// What one refresh produced: the token for its callers, its outcome, and the record it wrote (set only when this
/// refresh stored new tokens, so that token-refreshed handlers are told).
/// </summary>
internal readonly record struct RefreshResult(PitchlyAccessToken Token, RefreshOutcome Outcome, PitchlyTokenRecord? Stored = null)
{
    /// <summary>The stored <paramref name="record"/>'s token, written by someone else (nothing to notify).</summary>
    public static RefreshResult UseStored(PitchlyTokenRecord record, RefreshOutcome outcome) => new(record.ToAccessToken(), outcome);

    /// <summary>The tokens this refresh wrote as <paramref name="stored"/>.</summary>
    public static RefreshResult Wrote(PitchlyTokenRecord stored, RefreshOutcome outcome) => new(stored.ToAccessToken(), outcome, stored);
}

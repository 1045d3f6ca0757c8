namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>The telemetry values of <see cref="RefreshOutcome"/> (documented in docs/telemetry.md).</summary>
internal static class RefreshOutcomes
{
    /// <summary>The value of the <c>pitchly.outcome</c> attribute; interned constants, so recording allocates nothing.</summary>
    public static string ToTagValue(this RefreshOutcome outcome) => outcome switch
    {
        RefreshOutcome.Refreshed => "refreshed",
        RefreshOutcome.ReusedNewer => "reused_newer",
        RefreshOutcome.Acquired => "acquired",
        RefreshOutcome.Fenced => "fenced",
        RefreshOutcome.Deferred => "deferred",
        RefreshOutcome.FenceLapsed => "fence_lapsed",
        RefreshOutcome.InvalidGrant => "invalid_grant",
        _ => "failed",
    };

    /// <summary>The value of the refresh wait metric's reason attribute.</summary>
    public static string ToTagValue(this RefreshReason reason) => reason switch
    {
        RefreshReason.Missing => "missing",
        RefreshReason.Renewal => "renewal",
        _ => "rejected",
    };
}

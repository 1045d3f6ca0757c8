namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>How a shared refresh ended; <see cref="RefreshOutcomes.ToTagValue(RefreshOutcome)"/> is its metric and span value.</summary>
internal enum RefreshOutcome
{
    /// <summary>This refresh spent the refresh token and stored the new tokens.</summary>
    Refreshed,

    /// <summary>Newer tokens were already stored (another caller or instance refreshed): nothing was spent.</summary>
    ReusedNewer,

    /// <summary>An install's tokens were acquired with its client credentials.</summary>
    Acquired,

    /// <summary>A renewal left to another owner's fence while the current token still serves.</summary>
    Fenced,

    /// <summary>A renewal left to the instance holding the refresh lock while the current token still serves.</summary>
    Deferred,

    /// <summary>
    /// A renewal found another owner's fence lapsed before its tokens were stored: the record was marked
    /// <see cref="PitchlyTokenRecord.RefreshTokenMayBeSpent"/> and the current token, still valid, serves.
    /// </summary>
    FenceLapsed,

    /// <summary>Pitchly refused the refresh token, or no tokens are left: the user must sign in again.</summary>
    InvalidGrant,

    /// <summary>Any other failure (endpoint or store unreachable, timeout).</summary>
    Failed,
}

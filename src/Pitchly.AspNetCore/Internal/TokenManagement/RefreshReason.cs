namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>Why a key's tokens are refreshed; also the value of the refresh wait metric's reason attribute.</summary>
internal enum RefreshReason
{
    /// <summary>No tokens are stored for the key yet (an install acquires its first ones).</summary>
    Missing,

    /// <summary>The access token entered its renewal window; it may still serve while it is renewed.</summary>
    Renewal,

    /// <summary>Pitchly rejected the access token; it serves no longer.</summary>
    Rejected,
}

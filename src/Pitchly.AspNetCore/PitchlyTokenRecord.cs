namespace Pitchly.AspNetCore;

/// <summary>
/// What the token store keeps for one key. Secrets are redacted from <see cref="ToString"/>, so a record
/// that reaches a log or an exception message shows no token.
/// </summary>
public sealed record PitchlyTokenRecord
{
    /// <summary>Gets the access token.</summary>
    public required string AccessToken { get; init; }

    /// <summary>Gets when the access token expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>
    /// Gets when the access token was issued, when known; with <see cref="ExpiresAt"/> it gives the token's lifetime,
    /// which bounds how early a proactive renewal may start.
    /// </summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Gets the rotating, single-use refresh token; <see langword="null"/> for grants that issue none.</summary>
    public string? RefreshToken { get; init; }

    /// <summary>Gets the space-delimited scope of the access token, when Pitchly returned one.</summary>
    public string? Scope { get; init; }

    /// <summary>Gets the organization the tokens belong to.</summary>
    public string? OrganizationId { get; init; }

    /// <summary>
    /// Gets the record's version in its store: assigned by the store, incremented by every write, and the basis of
    /// compare-and-swap. Values set by callers are ignored on write.
    /// </summary>
    public long Version { get; init; }

    /// <summary>
    /// Gets the fence of a refresh in flight: set only by <see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/>, cleared by
    /// every other write. Values set by callers are ignored on write.
    /// </summary>
    public PitchlyRefreshIntent? RefreshIntent { get; init; }

    /// <summary>
    /// Gets a value indicating whether <see cref="RefreshToken"/> may already have been spent: a refresh presented it and its
    /// answer was lost (timed out, connection dropped, unreadable). The access token is then used until it expires or is
    /// rejected, and only then is the refresh token presented again (Pitchly either accepts it or asks for a new sign-in).
    /// </summary>
    public bool RefreshTokenMayBeSpent { get; init; }

    /// <summary>
    /// Gets the live sign-ins (sessions) of the person the tokens belong to, oldest first; <see langword="null"/> for a
    /// record whose sessions are not tracked (install tokens, and records written before sessions were tracked), whose
    /// cookies are then accepted as long as the record exists. Stores keep the list as written.
    /// </summary>
    public IReadOnlyList<PitchlySession>? Sessions { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"PitchlyTokenRecord {{ Version = {Version}, ExpiresAt = {ExpiresAt:O}, HasRefreshToken = {RefreshToken is not null}, Scope = {Scope}, OrganizationId = {OrganizationId}, RefreshIntent = {RefreshIntent}, RefreshTokenMayBeSpent = {RefreshTokenMayBeSpent}, Sessions = {Sessions?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "untracked"} }}";
}

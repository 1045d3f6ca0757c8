namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// A successful answer of Pitchly's token endpoint; <c>organization_id</c> and <c>database_id</c> when Pitchly names the
/// organization or the database the tokens are bound to.
/// </summary>
internal sealed record PitchlyTokenResponse(string AccessToken, TimeSpan ExpiresIn, string? RefreshToken, string? Scope, string? OrganizationId = null, string? DatabaseId = null)
{
    public override string ToString() => $"PitchlyTokenResponse {{ ExpiresIn = {ExpiresIn}, HasRefreshToken = {RefreshToken is not null}, Scope = {Scope} }}";
}

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>A successful answer of Pitchly's token endpoint.</summary>
internal sealed record PitchlyTokenResponse(string AccessToken, TimeSpan ExpiresIn, string? RefreshToken, string? Scope)
{
    public override string ToString() => $"PitchlyTokenResponse {{ ExpiresIn = {ExpiresIn}, HasRefreshToken = {RefreshToken is not null}, Scope = {Scope} }}";
}

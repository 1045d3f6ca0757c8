namespace Pitchly.AspNetCore;

/// <summary>What <see cref="IPitchlyTokenRefreshedHandler"/> is told after new tokens were stored for a key.</summary>
/// <param name="Key">Whose tokens.</param>
/// <param name="AccessToken">The new access token and its expiry.</param>
/// <param name="Scope">The granted scope, when Pitchly returned one.</param>
public sealed record PitchlyTokenRefreshedContext(PitchlyTokenKey Key, PitchlyAccessToken AccessToken, string? Scope);

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

internal sealed record IssuedTokens(string AccessToken, TimeSpan Lifetime, string Scope, string? RefreshToken);

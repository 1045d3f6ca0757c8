namespace Pitchly.AspNetCore;

/// <summary>A Pitchly access token and when it expires. <see cref="ToString"/> redacts the token.</summary>
/// <param name="Value">The access token, sent as <c>Authorization: Bearer</c> or the GraphQL variable <c>accessToken</c>.</param>
/// <param name="ExpiresAt">When the access token expires.</param>
public readonly record struct PitchlyAccessToken(string Value, DateTimeOffset ExpiresAt)
{
    /// <inheritdoc />
    public override string ToString() => $"PitchlyAccessToken {{ Value = [redacted], ExpiresAt = {ExpiresAt:O} }}";
}

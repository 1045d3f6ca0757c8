namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>A signed-in load user: the Pitchly person and the authentication cookie any instance accepts.</summary>
/// <param name="PersonId">The Pitchly person id.</param>
/// <param name="CookieHeader">The value of the <c>Cookie</c> header that carries the user's sign-in.</param>
/// <param name="SignInTokenFingerprint">The fingerprint of the access token sign-in stored, if the instance reported it.</param>
public sealed record StormUser(string PersonId, string CookieHeader, string? SignInTokenFingerprint)
{
    /// <inheritdoc />
    public override string ToString() => PersonId;
}

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>
/// An issued authorization code. Its family exists from the start, so that a replay racing the first redemption
/// still revokes whatever the first redemption issues.
/// </summary>
internal sealed class AuthorizationCodeEntry(
    TokenFamily family,
    string redirectUri,
    bool redirectUriWasGiven,
    string? codeChallenge,
    string? codeChallengeMethod,
    DateTimeOffset expiresAt)
{
    private int _redeemed;

    public TokenFamily Family { get; } = family;

    /// <summary>Gets the redirect URI used at the authorization endpoint (the registered default when none was given).</summary>
    public string RedirectUri { get; } = redirectUri;

    public bool RedirectUriWasGiven { get; } = redirectUriWasGiven;

    public string? CodeChallenge { get; } = codeChallenge;

    public string? CodeChallengeMethod { get; } = codeChallengeMethod;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>Redeems the code atomically: true only for the first redemption.</summary>
    public bool TryRedeem() => Interlocked.Exchange(ref _redeemed, 1) == 0;
}

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>
/// Every access and refresh token descending from one authorization (a code, a token exchange). Revoking the family
/// kills them all at once: each token checks its family on use.
/// </summary>
internal sealed class TokenFamily(string id, TokenSubject subject, string scope)
{
    private int _revoked;

    public string Id { get; } = id;

    public TokenSubject Subject { get; } = subject;

    /// <summary>Gets the full scope of the authorization; refresh tokens keep it whatever the access tokens were narrowed to.</summary>
    public string Scope { get; } = scope;

    public bool IsRevoked => Volatile.Read(ref _revoked) == 1;

    /// <summary>Revokes the family; true for the one caller that actually revoked it.</summary>
    public bool TryRevoke() => Interlocked.Exchange(ref _revoked, 1) == 0;
}

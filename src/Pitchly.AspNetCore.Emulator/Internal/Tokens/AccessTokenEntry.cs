namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

internal sealed class AccessTokenEntry(TokenSubject subject, string scope, DateTimeOffset expiresAt, TokenFamily? family)
{
    private int _invalidated;
    private int _used;

    public TokenSubject Subject { get; } = subject;

    public string Scope { get; } = scope;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    public TokenFamily? Family { get; } = family;

    public bool IsInvalidated => Volatile.Read(ref _invalidated) == 1;

    /// <summary>Gets whether the token has authenticated a GraphQL request.</summary>
    public bool IsUsed => Volatile.Read(ref _used) == 1;

    public bool IsRevoked => IsInvalidated || Family?.IsRevoked == true;

    public bool IsLive(DateTimeOffset now) => !IsRevoked && now < ExpiresAt;

    /// <summary>Invalidates the token early; true for the one caller that actually invalidated it.</summary>
    public bool TryInvalidate() => Interlocked.Exchange(ref _invalidated, 1) == 0;

    /// <summary>Records that the token authenticated a GraphQL request.</summary>
    public void MarkUsed()
    {
        if (Volatile.Read(ref _used) == 0)
        {
            Volatile.Write(ref _used, 1);
        }
    }
}

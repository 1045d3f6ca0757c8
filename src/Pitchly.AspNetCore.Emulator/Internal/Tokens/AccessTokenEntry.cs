namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

internal sealed class AccessTokenEntry(TokenSubject subject, string scope, DateTimeOffset expiresAt, TokenFamily? family)
{
    private int _invalidated;

    public TokenSubject Subject { get; } = subject;

    public string Scope { get; } = scope;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    public TokenFamily? Family { get; } = family;

    public bool IsInvalidated => Volatile.Read(ref _invalidated) == 1;

    public bool IsRevoked => IsInvalidated || Family?.IsRevoked == true;

    public bool IsLive(DateTimeOffset now) => !IsRevoked && now < ExpiresAt;

    /// <summary>Invalidates the token early; true for the one caller that actually invalidated it.</summary>
    public bool TryInvalidate() => Interlocked.Exchange(ref _invalidated, 1) == 0;
}

using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>
/// Holds every code and token the emulator issued. Tokens are opaque random strings looked up in concurrent
/// dictionaries; whether a token still works is decided on use, from its own flags and its family's.
/// </summary>
internal sealed class TokenAuthority(TimeProvider timeProvider)
{
    private const int SweepInterval = 4096;
    private static readonly TimeSpan CodeRetention = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, AccessTokenEntry> _accessTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RefreshTokenEntry> _refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthorizationCodeEntry> _codes = new(StringComparer.Ordinal);
    private long _familyCount;
    private long _issuedSinceSweep;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public TokenFamily CreateFamily(TokenSubject subject, string scope) =>
        new($"fam{Interlocked.Increment(ref _familyCount):D8}", subject, scope);

    public string CreateCode(AuthorizationCodeEntry entry)
    {
        var code = RandomToken(string.Empty);
        _codes[code] = entry;
        return code;
    }

    public AuthorizationCodeEntry? FindCode(string code) => _codes.GetValueOrDefault(code);

    public AccessTokenEntry? FindAccessToken(string token) => _accessTokens.GetValueOrDefault(token);

    public RefreshTokenEntry? FindRefreshToken(string token) => _refreshTokens.GetValueOrDefault(token);

    /// <summary>Issues an access token and, when the token belongs to a family, a rotating refresh token.</summary>
    public IssuedTokens Issue(TokenSubject subject, string scope, TimeSpan lifetime, TokenFamily? family)
    {
        var now = TimeProvider.GetUtcNow();
        var accessToken = RandomToken("plyu_");
        _accessTokens[accessToken] = new AccessTokenEntry(subject, scope, now + lifetime, family);

        string? refreshToken = null;
        if (family is not null)
        {
            refreshToken = RandomToken("plyr_");
            _refreshTokens[refreshToken] = new RefreshTokenEntry(family);
        }

        if (Interlocked.Increment(ref _issuedSinceSweep) % SweepInterval == 0)
        {
            Sweep(now);
        }

        return new IssuedTokens(accessToken, lifetime, scope, refreshToken);
    }

    /// <summary>
    /// Invalidates every live access token, or every live one of a person; returns how many, and how many of them had
    /// never authenticated a GraphQL request.
    /// </summary>
    public (int Invalidated, int Unused) InvalidateAccessTokens(string? personId)
    {
        var now = TimeProvider.GetUtcNow();
        var count = 0;
        var unused = 0;
        foreach (var entry in _accessTokens.Values)
        {
            if ((personId is null || string.Equals(entry.Subject.PersonId, personId, StringComparison.Ordinal))
                && entry.IsLive(now)
                && entry.TryInvalidate())
            {
                count++;
                unused += entry.IsUsed ? 0 : 1;
            }
        }

        return (count, unused);
    }

    // Expired access tokens and long-expired codes are useless; spent refresh tokens stay, to recognise reuse.
    private void Sweep(DateTimeOffset now)
    {
        foreach (var (token, entry) in _accessTokens)
        {
            if (entry.ExpiresAt <= now)
            {
                _accessTokens.TryRemove(token, out _);
            }
        }

        foreach (var (code, entry) in _codes)
        {
            if (entry.ExpiresAt + CodeRetention <= now)
            {
                _codes.TryRemove(code, out _);
            }
        }
    }

    // 32 random bytes, base64url without padding: 43 characters, as Pitchly's tokens.
    private static string RandomToken(string prefix) =>
        prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}

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
    private readonly ConcurrentQueue<string> _spentRefreshTokens = new();
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

    /// <summary>Gets how many refresh tokens are held, live and spent (for tests).</summary>
    internal int RefreshTokenCount => _refreshTokens.Count;

    /// <summary>
    /// Spends a refresh token (see <see cref="RefreshTokenEntry.TrySpend"/>) and remembers it, so that presenting it again
    /// is recognised as reuse; only the last <paramref name="maxSpent"/> spent tokens are remembered, the oldest are forgotten.
    /// </summary>
    /// <remarks>
    /// Forgetting is safe: a forgotten token is no longer in the table, so it is refused like any unknown token
    /// (<c>invalid_grant</c>) and can never be spent twice. What it costs: its reuse is not counted in
    /// <c>refresh_token_reuse</c> and, in strict mode, no longer revokes its family. A client reusing a token that many
    /// rotations old is already broken; the cap keeps the emulator's memory bounded when a caller rotates tokens
    /// without end (100 000 entries by default, a few tens of megabytes).
    /// </remarks>
    public bool TrySpend(string token, RefreshTokenEntry entry, int maxSpent)
    {
        if (!entry.TrySpend())
        {
            return false;
        }

        _spentRefreshTokens.Enqueue(token);
        while (_spentRefreshTokens.Count > maxSpent && _spentRefreshTokens.TryDequeue(out var oldest))
        {
            _refreshTokens.TryRemove(oldest, out _);
        }

        return true;
    }

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

    // Expired access tokens and long-expired codes are useless; spent refresh tokens stay, to recognise reuse (up to
    // MaxSpentRefreshTokens of them: see TrySpend).
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

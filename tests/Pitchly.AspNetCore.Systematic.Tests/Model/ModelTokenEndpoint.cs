namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// Pitchly's token endpoint as the model sees it: every refresh token is single-use and rotates; presenting a spent one
/// revokes the whole family; access tokens expire, and the model may invalidate the current one early. It records
/// every presentation, so the properties can be checked after (and during) a schedule.
/// </summary>
internal sealed class ModelTokenEndpoint
{
    private readonly object _gate = new();
    private readonly Dictionary<string, RefreshTokenState> _refreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _accessTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _killed = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private int _issued;

    public static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(40);

    public bool FamilyRevoked { get; private set; }

    /// <summary>How many times a holder stalled past its fence with a refresh token in hand.</summary>
    public int Stalls { get; private set; }

    /// <summary>Reuses inside the documented physical window: a holder stalled past its fence with the token in hand.</summary>
    public int Excused { get; private set; }

    public string? LiveRefreshToken { get; private set; }

    public int Grants { get; private set; }

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_gate)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>The tokens a sign-in stored.</summary>
    public PitchlyTokenRecord SignIn(DateTimeOffset now)
    {
        lock (_gate)
        {
            var (access, refresh) = Issue(now);
            return new PitchlyTokenRecord { AccessToken = access, RefreshToken = refresh, ExpiresAt = now + AccessTokenLifetime, IssuedAt = now };
        }
    }

    /// <summary>Handles a refresh_token grant; null when the grant is refused (invalid_grant).</summary>
    public (string AccessToken, string RefreshToken)? Refresh(string refreshToken, DateTimeOffset now, string presenter)
    {
        lock (_gate)
        {
            if (!_refreshTokens.TryGetValue(refreshToken, out var state))
            {
                _violations.Add($"{presenter} presented a refresh token Pitchly never issued");
                return null;
            }

            if (state.PresentedBy is { } first)
            {
                // Reuse: a strict server revokes the whole family. Only a presentation whose first answer was lost is
                // one the package could not have known about.
                if (state.StalledPastFence)
                {
                    Excused++;
                }
                else if (!state.AnswerLost)
                {
                    _violations.Add($"refresh token #{state.Number} presented twice: first by {first}, again by {presenter} (family revoked)");
                }

                FamilyRevoked = true;
                LiveRefreshToken = null;
                return null;
            }

            if (FamilyRevoked)
            {
                return null;
            }

            state.PresentedBy = presenter;
            Grants++;
            return Issue(now);
        }
    }

    /// <summary>The answer to the grant that spent <paramref name="refreshToken"/> never reached its sender.</summary>
    public void AnswerLost(string refreshToken)
    {
        lock (_gate)
        {
            _refreshTokens[refreshToken].AnswerLost = true;
        }
    }

    /// <summary>
    /// The holder of <paramref name="refreshToken"/> died, or gave up, before storing Pitchly's answer: if it presented the
    /// token, the tokens issued for it are lost, and the package may present it again once (as after a lost answer).
    /// </summary>
    public bool HolderDied(string refreshToken)
    {
        lock (_gate)
        {
            if (_refreshTokens.TryGetValue(refreshToken, out var state) && state.PresentedBy is not null)
            {
                state.AnswerLost = true;
                return true;
            }

            return false;
        }
    }

    /// <summary>The holder of <paramref name="refreshToken"/> stalled past its fence before storing the answer.</summary>
    public void StalledPastFence(string refreshToken)
    {
        lock (_gate)
        {
            Stalls++;
            if (_refreshTokens.TryGetValue(refreshToken, out var state))
            {
                state.StalledPastFence = true;
            }
        }
    }

    /// <summary>Whether Pitchly accepts <paramref name="accessToken"/> now.</summary>
    public bool Accepts(string accessToken, DateTimeOffset now)
    {
        lock (_gate)
        {
            return !FamilyRevoked && !_killed.Contains(accessToken) && _accessTokens.TryGetValue(accessToken, out var expiresAt) && now < expiresAt;
        }
    }

    /// <summary>When Pitchly lets <paramref name="accessToken"/> expire; null for a token it never issued.</summary>
    public DateTimeOffset? ExpiryOf(string accessToken)
    {
        lock (_gate)
        {
            return _accessTokens.TryGetValue(accessToken, out var expiresAt) ? expiresAt : null;
        }
    }

    /// <summary>Whether <paramref name="accessToken"/> was killed early (the manager cannot know before it is rejected).</summary>
    public bool WasKilled(string accessToken)
    {
        lock (_gate)
        {
            return _killed.Contains(accessToken);
        }
    }

    /// <summary>Pitchly invalidates the newest access token before its expiry.</summary>
    public void KillNewestAccessToken()
    {
        lock (_gate)
        {
            _killed.Add($"at{_issued}");
        }
    }

    /// <summary>Whether <paramref name="refreshToken"/> is the family's live one (issued, never presented).</summary>
    public bool IsLive(string? refreshToken)
    {
        lock (_gate)
        {
            return refreshToken is not null && !FamilyRevoked && string.Equals(refreshToken, LiveRefreshToken, StringComparison.Ordinal);
        }
    }

    public void Violation(string message)
    {
        lock (_gate)
        {
            _violations.Add(message);
        }
    }

    private (string AccessToken, string RefreshToken) Issue(DateTimeOffset now)
    {
        var number = ++_issued;
        var access = $"at{number}";
        var refresh = $"rt{number}";
        _accessTokens[access] = now + AccessTokenLifetime;
        _refreshTokens[refresh] = new RefreshTokenState(number);
        LiveRefreshToken = refresh;
        return (access, refresh);
    }

    private sealed class RefreshTokenState(int number)
    {
        public int Number { get; } = number;

        public string? PresentedBy { get; set; }

        public bool AnswerLost { get; set; }

        public bool StalledPastFence { get; set; }
    }
}

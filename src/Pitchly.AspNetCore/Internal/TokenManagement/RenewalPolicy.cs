namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// The one place that decides whether a stored access token still serves: pure functions of the record, the time and
/// the options, so the hot path, the refresh and the tests ask the same questions the same way.
/// </summary>
internal static class RenewalPolicy
{
    /// <summary>
    /// Whether <paramref name="record"/>'s access token is returned as it is: outside its renewal window, or, when its
    /// last refresh lost its answer, until it expires (its refresh token is presented again only when it must be).
    /// </summary>
    public static bool Serves(PitchlyTokenRecord record, DateTimeOffset now, PitchlyTokenManagementOptions options)
        => record.RefreshTokenMayBeSpent
            ? now < record.ExpiresAt
            : now < record.ExpiresAt - RenewalWindow(record, options);

    /// <summary>Whether the access token has not expired yet: a renewal that cannot proceed may fall back to it.</summary>
    public static bool IsUnexpired(PitchlyTokenRecord record, DateTimeOffset now) => now < record.ExpiresAt;

    /// <summary>
    /// Whether a call may take the current token while its renewal runs in the background: in the first half of the
    /// renewal window, where the token still has at least half the window to live, which a renewal (a token request,
    /// with its retries bounded well below that for any sensible window) does not outlast. Closer to expiry, and for a
    /// token whose last refresh lost its answer, callers wait for the new token.
    /// </summary>
    public static bool ServesDuringRenewal(PitchlyTokenRecord record, DateTimeOffset now, PitchlyTokenManagementOptions options)
        => !record.RefreshTokenMayBeSpent && record.ExpiresAt - now > RenewalWindow(record, options) / 2;

    /// <summary>
    /// Whether a token due for renewal still serves because another owner's live fence says it is being renewed right
    /// now and it has not expired. Only for callers that have not seen it rejected.
    /// </summary>
    public static bool ServesWhileAnotherRenews(PitchlyTokenRecord record, DateTimeOffset now)
        => IsFencedByAnother(record, now) && IsUnexpired(record, now);

    /// <summary>
    /// Whether a token due for renewal still serves because the key's last refresh failed less than
    /// <see cref="PitchlyTokenManagementOptions.FailedRenewalRetryInterval"/> ago and the token has not expired. Only for
    /// renewals: a caller whose token was rejected refreshes at once.
    /// </summary>
    public static bool ServesWhileRenewalBacksOff(PitchlyTokenRecord record, DateTimeOffset now, bool backingOff)
        => backingOff && IsUnexpired(record, now);

    /// <summary>Whether the stored tokens are already newer than what <paramref name="request"/> was started for.</summary>
    public static bool IsAlreadyRenewed(PitchlyTokenRecord record, RefreshRequest request, DateTimeOffset now, PitchlyTokenManagementOptions options)
        => request.RejectedAccessToken is { } rejected
            ? !string.Equals(record.AccessToken, rejected, StringComparison.Ordinal) && IsUnexpired(record, now)
            : Serves(record, now, options);

    /// <summary>Whether another owner's fence on <paramref name="record"/> is still live at <paramref name="now"/>.</summary>
    public static bool IsFencedByAnother(PitchlyTokenRecord record, DateTimeOffset now)
        => record.RefreshIntent is { } intent && intent.Deadline > now;

    /// <summary>How long before its expiry a record is renewed: <see cref="PitchlyTokenManagementOptions.RefreshBeforeExpiry"/>, at most half its lifetime.</summary>
    public static TimeSpan RenewalWindow(PitchlyTokenRecord record, PitchlyTokenManagementOptions options)
    {
        var window = options.RefreshBeforeExpiry;
        if (record.IssuedAt is { } issuedAt)
        {
            var halfLifetime = (record.ExpiresAt - issuedAt) / 2;
            if (halfLifetime < window)
            {
                window = halfLifetime;
            }
        }

        return window;
    }
}

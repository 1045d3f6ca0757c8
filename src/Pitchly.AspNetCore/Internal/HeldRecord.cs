using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// A record a store holds in process memory (the in-memory store's entry, the Redis store's L1 entry), with copies of
/// the few values the token manager's hot path decides on and returns, so that serving a cached token reads this object
/// only and not the record (two more cache lines, allocated elsewhere, at a large population likely misses). The store's
/// <see cref="KeyedEntryTable{TEntry}"/> points to it directly, so a cached call reads a slot and this object.
/// </summary>
/// <remarks>
/// <see cref="Serves"/> answers what <see cref="RenewalPolicy.Serves"/> answers for <see cref="Record"/> (it declines a
/// negative renewal window, leaving that record to the policy), with the options of the call, so a change of
/// <see cref="PitchlyTokenManagementOptions.RefreshBeforeExpiry"/> at run time applies at once; the copies never change,
/// as a store makes a new entry for every record it stores.
/// </remarks>
internal abstract class HeldRecord : KeyedEntry
{
    // _windowLimit of a record whose refresh token may be spent: its window is zero, it is served until it expires.
    private const long MayBeSpent = long.MinValue;

    private readonly string _accessToken;
    private readonly DateTimeOffset _expiresAt;

    // The record's half lifetime in ticks, the most its renewal window can be (long.MaxValue without an issue time);
    // MayBeSpent for a record whose refresh token may be spent.
    private readonly long _windowLimit;

    protected HeldRecord(PitchlyTokenKey key, PitchlyTokenRecord record)
        : base(key)
    {
        Record = record;
        _accessToken = record.AccessToken;
        _expiresAt = record.ExpiresAt;

        // Computed as RenewalPolicy.RenewalWindow computes it (TimeSpan division rounds), so the two agree to the tick.
        _windowLimit = record.RefreshTokenMayBeSpent ? MayBeSpent
            : record.IssuedAt is { } issuedAt ? ((record.ExpiresAt - issuedAt) / 2).Ticks
            : long.MaxValue;
    }

    /// <summary>Gets the record held.</summary>
    public PitchlyTokenRecord Record { get; }

    /// <summary>
    /// Whether <see cref="RenewalPolicy.Serves"/> holds for <see cref="Record"/>. A window below zero (a record issued
    /// after it expires, or a negative option) answers <see langword="false"/>, leaving such a record to the policy itself.
    /// </summary>
    public bool Serves(DateTimeOffset now, PitchlyTokenManagementOptions options)
    {
        var window = _windowLimit == MayBeSpent ? 0 : Math.Min(options.RefreshBeforeExpiry.Ticks, _windowLimit);

        // now < ExpiresAt - window, in ticks: no DateTimeOffset arithmetic, which checks its range.
        return window >= 0 && _expiresAt.UtcTicks - now.UtcTicks > window;
    }

    /// <summary>Gets the access token as <see cref="TokenRecords.ToAccessToken"/> makes it of <see cref="Record"/>.</summary>
    public PitchlyAccessToken ToAccessToken() => new(_accessToken, _expiresAt);
}

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Implemented by stores that keep records in process memory (the in-memory store; the Redis store, for its L1), for
/// the token manager's hot path: a record read from memory comes back as its <see cref="HeldRecord"/>, whose few
/// decisive values sit in the entry the map points to, so a cached call reads the entry and not the record.
/// </summary>
internal interface IHeldRecordStore
{
    /// <summary>
    /// Gets the entry of <paramref name="key"/>'s record when <see cref="IPitchlyTokenStore.GetAsync"/> would now answer
    /// with a record held in process memory (same expiry, touch and validity rules, applied by this call); otherwise
    /// <see langword="null"/>, and the caller reads with <see cref="GetUnheldAsync"/>.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="now">
    /// The caller's reading of the clock (the <see cref="TimeProvider"/> the store was given), so a call reads it once;
    /// a store that measures ages on another clock reads its own.
    /// </param>
    HeldRecord? TryGetHeld(PitchlyTokenKey key, DateTimeOffset now);

    /// <summary>
    /// Reads <paramref name="key"/>'s record as <see cref="IPitchlyTokenStore.GetAsync"/> does after
    /// <see cref="TryGetHeld"/> found none held (without counting a second cache miss).
    /// </summary>
    ValueTask<PitchlyTokenRecord?> GetUnheldAsync(PitchlyTokenKey key, CancellationToken cancellationToken);
}

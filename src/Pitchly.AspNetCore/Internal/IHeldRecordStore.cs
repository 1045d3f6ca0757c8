namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Implemented by the stores that keep records in process memory, for the token manager's hot path: a record read
/// from memory comes back as its <see cref="HeldRecord"/>, whose few decisive values sit beside the map's node.
/// </summary>
internal interface IHeldRecordStore
{
    /// <summary>
    /// Reads <paramref name="key"/>'s record as <see cref="IPitchlyTokenStore.GetAsync"/> does (same expiry, touch and
    /// validity rules). When the answer is a record held in process memory, <paramref name="held"/> is its entry and the
    /// returned task is <see langword="default"/> (not to be awaited); otherwise <paramref name="held"/> is
    /// <see langword="null"/> and the task is the read.
    /// </summary>
    ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, out HeldRecord? held, CancellationToken cancellationToken);
}

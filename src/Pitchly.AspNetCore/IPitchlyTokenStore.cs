namespace Pitchly.AspNetCore;

/// <summary>
/// Keeps one <see cref="PitchlyTokenRecord"/> per <see cref="PitchlyTokenKey"/>, with a version per record so
/// that writers can compare and swap. Implementations: in memory (the default, one instance) and Redis (web farms).
/// </summary>
/// <remarks>
/// <see cref="GetAsync"/> is on the hot path of every Pitchly call: implementations answer it from memory when
/// they can. Every write assigns the record a new, higher <see cref="PitchlyTokenRecord.Version"/>.
/// </remarks>
public interface IPitchlyTokenStore
{
    /// <summary>Reads the record of <paramref name="key"/>, or <see langword="null"/> when there is none.</summary>
    /// <param name="key">The record's key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="record"/> whatever is stored (a new sign-in or token exchange replaces older tokens).
    /// </summary>
    /// <param name="key">The record's key.</param>
    /// <param name="record">The tokens to store.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The stored record, carrying its new version.</returns>
    /// <remarks>Every write but <see cref="TryBeginRefreshAsync"/> clears the record's refresh intent.</remarks>
    ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="record"/> only if the stored record's version is still <paramref name="expectedVersion"/>
    /// (0: only if there is no record). A writer holding stale tokens never overwrites newer ones.
    /// </summary>
    /// <param name="key">The record's key.</param>
    /// <param name="expectedVersion">The version the caller read.</param>
    /// <param name="record">The tokens to store.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The stored record with its new version, or <see langword="null"/> when the version had moved on.</returns>
    ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the fence of a refresh (<see cref="PitchlyTokenRecord.RefreshIntent"/>) into the record, by compare-and-swap
    /// on <paramref name="expectedVersion"/>, before its refresh token is presented to Pitchly. Refused when the version
    /// moved on, or when the record carries a live intent of another owner (its deadline not yet passed on the store's
    /// clock): only one owner at a time may spend a refresh token, whatever the callers' clocks and timing. The owner of
    /// the record's fence may write it again at the current version (the same <paramref name="owner"/>, whether its fence
    /// is live or lapsed, as long as no other owner's live fence is there): that is how it extends its fence while it
    /// stores the tokens Pitchly issued.
    /// </summary>
    /// <param name="key">The record's key.</param>
    /// <param name="expectedVersion">The version the caller read (a positive value: a record must exist).</param>
    /// <param name="owner">Identifies this refresh attempt.</param>
    /// <param name="lifetime">How long the intent lives, from the moment the store applies it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>
    /// The record carrying the intent (its deadline on the store's clock) and its new version, or <see langword="null"/>
    /// when the write was refused; the caller reads the record again.
    /// </returns>
    ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the record of <paramref name="key"/>; with <paramref name="expectedVersion"/>, only if the stored
    /// version still equals it (so a failed refresh never deletes tokens a newer sign-in stored).
    /// </summary>
    /// <param name="key">The record's key.</param>
    /// <param name="expectedVersion">The version the caller read, or <see langword="null"/> to remove unconditionally.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    /// <returns><see langword="true"/> when a record was removed.</returns>
    ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default);
}

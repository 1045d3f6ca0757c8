namespace Pitchly.AspNetCore.Testing;

/// <summary>
/// The guarantees a token store (<see cref="IPitchlyTokenStore"/>) or refresh lock (<see cref="IPitchlyRefreshLock"/>)
/// must keep for the token manager to spend each rotating refresh token at most once. Names are stable: a
/// <see cref="PitchlyConformanceException"/> names the rule it found broken.
/// </summary>
/// <remarks>
/// <see cref="PitchlyTokenStoreConformance"/> checks the rules up to <see cref="InstancesDecideOnSharedData"/>, in this
/// order; <see cref="PitchlyRefreshLockConformance"/> checks the <c>Lock…</c> rules.
/// </remarks>
public enum PitchlyConformanceRule
{
    /// <summary>
    /// A key without a record reads as <see langword="null"/>; a record written with <see cref="IPitchlyTokenStore.SetAsync"/>
    /// or <see cref="IPitchlyTokenStore.TryReplaceAsync"/> reads back with every field as written (tokens of up to 2,048
    /// characters, absent values staying absent, <see cref="PitchlyTokenRecord.RefreshTokenMayBeSpent"/> kept), and the
    /// record a write returns is the one a read then returns.
    /// </summary>
    ReadsReturnWhatWasWritten = 1,

    /// <summary>
    /// Records of different keys are independent: user keys of one organization, its install key with and without a
    /// database; writing or removing one leaves the others as they were.
    /// </summary>
    KeysAreIndependent,

    /// <summary>
    /// The store assigns <see cref="PitchlyTokenRecord.Version"/> and <see cref="PitchlyTokenRecord.RefreshIntent"/>:
    /// values a caller puts in the record it writes are ignored (the token manager writes copies of records it read).
    /// </summary>
    StoreAssignsVersionAndIntent,

    /// <summary>
    /// Every write (set, compare-and-swap, fence) gives the record a version above every version it had before.
    /// </summary>
    VersionsRiseOnEveryWrite,

    /// <summary>
    /// <see cref="IPitchlyTokenStore.TryReplaceAsync"/> writes only while the stored version equals the expected one
    /// (0: only while there is no record), and a refused write changes nothing.
    /// </summary>
    CompareAndSwapRefusesStaleVersion,

    /// <summary>
    /// <see cref="IPitchlyTokenStore.RemoveAsync"/> with an expected version removes only while the stored version equals
    /// it, and answers <see langword="true"/> only when it removed a record.
    /// </summary>
    CompareAndDeleteRefusesStaleVersion,

    /// <summary>
    /// A record removed and created again continues above every version the removed one had, so a writer holding a
    /// version of the removed record can never overwrite, fence or remove the new one (no ABA).
    /// </summary>
    VersionsNeverRepeatAfterRemoval,

    /// <summary>
    /// <see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/> is refused when the version moved on or the record is gone,
    /// and then writes nothing (it never creates a record).
    /// </summary>
    FenceRequiresCurrentVersion,

    /// <summary>
    /// A fence written by <see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/> carries its owner and a deadline of the
    /// requested lifetime from when the store applied it, leaves the tokens untouched, and is what every read returns.
    /// </summary>
    FenceIsStoredWithItsDeadline,

    /// <summary>
    /// While a fence is live (its deadline not passed on the store's clock), every other owner's
    /// <see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/> is refused, even at the current version.
    /// </summary>
    LiveFenceRefusesOtherOwners,

    /// <summary>A fence lapses at its deadline: after it, another owner may fence the record.</summary>
    FenceLapsesAtDeadline,

    /// <summary>
    /// Every write but the fence itself clears the fence: <see cref="IPitchlyTokenStore.SetAsync"/>,
    /// <see cref="IPitchlyTokenStore.TryReplaceAsync"/>, and a removal (a record created again carries none).
    /// </summary>
    OtherWritesClearFence,

    /// <summary>
    /// Of compare-and-swaps racing on one version, from many tasks and store instances, exactly one wins; thousands of
    /// racing writes form a single chain of versions.
    /// </summary>
    /// <remarks>
    /// A racing write answered with the retryable <see cref="PitchlyTokenStoreUnavailableException"/> is retried as the
    /// token manager retries (the same write; refused after a retry, it is this writer's if the record holds its tokens).
    /// </remarks>
    ConcurrentCompareAndSwapHasOneWinner,

    /// <summary>Of fences racing on one version, from many owners, tasks and store instances, exactly one wins.</summary>
    /// <remarks>
    /// A racing fence answered with the retryable <see cref="PitchlyTokenStoreUnavailableException"/> counts as won when
    /// the record then carries its owner.
    /// </remarks>
    ConcurrentFencesHaveOneWinner,

    /// <summary>
    /// Records, their versions, their fences and removals survive a new store instance over the same backing data: a
    /// fence written through one instance refuses other owners through the other, and a record removed through one
    /// and created again through the other continues above the removed one's versions.
    /// </summary>
    DataSurvivesNewInstance,

    /// <summary>
    /// Conditional writes (compare-and-swap, compare-and-delete, fence) are decided on the shared data, never on a copy
    /// an instance read or cached earlier: another instance's write makes them refuse the old version at once.
    /// </summary>
    InstancesDecideOnSharedData,

    /// <summary>
    /// The owner of a fence may write it again at the current version (the same owner, through
    /// <see cref="IPitchlyTokenStore.TryBeginRefreshAsync"/>): that extends its deadline, gives the record a higher
    /// version and leaves the tokens untouched; other owners stay refused. The token manager extends its own fence this
    /// way while it stores the tokens Pitchly issued.
    /// </summary>
    OwnerMayExtendItsOwnFence,

    /// <summary>
    /// While one holder holds the lock of a key, no other acquirer (through another lock instance over the same data)
    /// is granted it; once released, the next acquirer is.
    /// </summary>
    LockAdmitsOneHolder = 101,

    /// <summary>Holding the lock of one key does not keep the lock of another key from being granted.</summary>
    LockKeysAreIndependent,

    /// <summary>
    /// Many acquirers contending for one key, each through its own lock instance, never hold it at the same time.
    /// </summary>
    LockExcludesUnderContention,

    /// <summary>
    /// A holder keeps the lock for as long as it holds the handle, longer than a lease (the lock renews itself), and its
    /// <see cref="IPitchlyRefreshLockHandle.LockLost"/> stays quiet meanwhile.
    /// </summary>
    LockKeptWhileHeld,

    /// <summary>
    /// <see cref="IPitchlyRefreshLockHandle.LockLost"/> is cancelled when the holder's lease is lost (needs
    /// <see cref="PitchlyRefreshLockConformanceOptions.EndLeaseAsync"/>).
    /// </summary>
    LockLostSignalsLostLease,

    /// <summary>
    /// Disposing a handle whose lease was lost does not release the lock of the holder that came after it (needs
    /// <see cref="PitchlyRefreshLockConformanceOptions.EndLeaseAsync"/>).
    /// </summary>
    LockReleasedByOwnerOnly,
}

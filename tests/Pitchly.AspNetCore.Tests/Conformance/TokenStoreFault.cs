namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>One way a custom token store can get the contract wrong, as <see cref="FaultyTokenStore"/> plays it.</summary>
public enum TokenStoreFault
{
    /// <summary>None: a correct store.</summary>
    None,

    /// <summary>TryReplaceAsync writes whatever version is stored (a plain upsert).</summary>
    NoCompareAndSwap,

    /// <summary>RemoveAsync removes whatever version is stored.</summary>
    NoCompareAndDelete,

    /// <summary>Versions count per record from 1, so a record created again after a removal repeats them (ABA).</summary>
    VersionsRestartAfterRemoval,

    /// <summary>TryBeginRefreshAsync checks the version only, not another owner's live fence.</summary>
    FenceIgnored,

    /// <summary>A fence refuses other owners for ever: its deadline is never looked at.</summary>
    FenceNeverLapses,

    /// <summary>SetAsync keeps the fence of the record it overwrites.</summary>
    SetKeepsFence,

    /// <summary>TryReplaceAsync checks the version and writes in two steps, so racing writers can both win.</summary>
    CompareAndSwapNotAtomic,

    /// <summary>TryBeginRefreshAsync refuses a live fence to every owner, its own owner too: a fence cannot be extended.</summary>
    FenceNotExtendable,

    /// <summary>Every instance starts empty: nothing is shared with another instance "over the same data".</summary>
    ForgetsOnNewInstance,
}

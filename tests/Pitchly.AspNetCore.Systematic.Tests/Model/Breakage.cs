namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>Faults planted in the model (never in the package) to prove the systematic tests find what they look for.</summary>
[Flags]
internal enum Breakage
{
    None = 0,

    /// <summary>
    /// The refresh decides on the tokens it read before taking the lock: the re-read under the lock returns them with the
    /// store's current version and fence (a re-read kept only for the version the fence's compare-and-swap needs), and the
    /// fence hands back those tokens rather than the fenced record's. The package takes the token it presents from the
    /// fenced record, so a stale decision alone would cost at most a needless rotation: the variant plants both halves.
    /// </summary>
    NoReReadAfterLock = 1,

    /// <summary>The fence is written over another owner's live intent, and reads do not show another owner's intent.</summary>
    FenceIgnoresLiveOwner = 2,

    /// <summary>A fenced request is sent however long after its fence: the send deadline is never reached.</summary>
    NoSendDeadlineCheck = 4,

    /// <summary>Compare-and-swap writes (and fences) land whatever the stored version.</summary>
    CompareAndSwapIgnoresVersion = 8,
}

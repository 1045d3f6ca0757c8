namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>One way a custom refresh lock can get the contract wrong, as <see cref="LeasedRefreshLock"/> plays it.</summary>
public enum RefreshLockFault
{
    /// <summary>None: a correct lock.</summary>
    None,

    /// <summary>Every acquirer is granted the lock at once.</summary>
    GrantsEveryone,

    /// <summary>A holder whose lease ended is never told: its <c>LockLost</c> stays quiet.</summary>
    NeverSignalsLostLease,

    /// <summary>Disposing a handle releases the lock whoever holds it now.</summary>
    ReleasesAnyHolder,
}

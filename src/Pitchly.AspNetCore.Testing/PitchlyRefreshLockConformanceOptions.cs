namespace Pitchly.AspNetCore.Testing;

/// <summary>How <see cref="PitchlyRefreshLockConformance"/> exercises a refresh lock.</summary>
public sealed class PitchlyRefreshLockConformanceOptions
{
    /// <summary>
    /// Gets or sets how long an acquirer must go on waiting while another holds the lock, for the kit to count it as
    /// excluded. Default: 300 ms.
    /// </summary>
    public TimeSpan ExclusionWait { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Gets or sets how long the kit holds a lock in <see cref="PitchlyConformanceRule.LockKeptWhileHeld"/>: make it longer
    /// than the lock's lease so that renewal is exercised. Default: 1 s.
    /// </summary>
    public TimeSpan HoldDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how soon a free lock must be granted, and how soon <see cref="IPitchlyRefreshLockHandle.LockLost"/> must be
    /// cancelled once the lease was ended. Default: 10 s.
    /// </summary>
    public TimeSpan GrantWithin { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how many acquirers, each with its own lock instance, contend in
    /// <see cref="PitchlyConformanceRule.LockExcludesUnderContention"/>. Default: 8.
    /// </summary>
    public int Contenders { get; set; } = 8;

    /// <summary>Gets or sets how many times each contender takes the lock. Default: 10.</summary>
    public int AcquisitionsPerContender { get; set; } = 10;

    /// <summary>
    /// Gets or sets what ends the current holder's lease of a key as if it had expired, without its holder knowing
    /// (for example: deletes the lock's row or Redis key). The rules <see cref="PitchlyConformanceRule.LockLostSignalsLostLease"/>
    /// and <see cref="PitchlyConformanceRule.LockReleasedByOwnerOnly"/> run only when it is set.
    /// </summary>
    public Func<PitchlyTokenKey, CancellationToken, ValueTask>? EndLeaseAsync { get; set; }

    /// <summary>
    /// Gets or sets rules not to check: for an implementation known to break them, so that the other rules keep being
    /// checked until it is fixed. The list <c>VerifyAsync</c> returns leaves them out. Default: none.
    /// </summary>
    public IReadOnlyCollection<PitchlyConformanceRule> SkippedRules { get; set; } = [];

    /// <summary>Gets or sets how long one rule may take before the kit reports it as broken (a hung call). Default: 60 s.</summary>
    public TimeSpan RuleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

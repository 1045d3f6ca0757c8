namespace Pitchly.AspNetCore.Testing;

/// <summary>How <see cref="PitchlyTokenStoreConformance"/> exercises a token store.</summary>
public sealed class PitchlyTokenStoreConformanceOptions
{
    /// <summary>
    /// Gets or sets the lifetime of the short fence whose lapse <see cref="PitchlyConformanceRule.FenceLapsesAtDeadline"/>
    /// waits for. Default: 500 ms.
    /// </summary>
    public TimeSpan FenceLifetime { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Gets or sets how far the store's clock may be from this machine's (plus the time a call takes): a fence's
    /// deadline must lie within this of the requested lifetime from the call, and a fence is expected to have lapsed
    /// this long after its deadline. Raise it for a store whose server's clock is not in step with this machine.
    /// Default: 500 ms.
    /// </summary>
    public TimeSpan ClockTolerance { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Gets or sets how many tasks race in <see cref="PitchlyConformanceRule.ConcurrentCompareAndSwapHasOneWinner"/> and
    /// <see cref="PitchlyConformanceRule.ConcurrentFencesHaveOneWinner"/>. Default: 16.
    /// </summary>
    public int ConcurrentWriters { get; set; } = 16;

    /// <summary>
    /// Gets or sets how many store instances (from the factory) the racing tasks share out among themselves. Default: 4.
    /// </summary>
    public int ConcurrentInstances { get; set; } = 4;

    /// <summary>
    /// Gets or sets how many compare-and-swaps race in <see cref="PitchlyConformanceRule.ConcurrentCompareAndSwapHasOneWinner"/>,
    /// all tasks together. Default: 2,000.
    /// </summary>
    public int CompareAndSwapAttempts { get; set; } = 2_000;

    /// <summary>
    /// Gets or sets rules not to check: for an implementation known to break them, so that the other rules keep being
    /// checked until it is fixed. The list <c>VerifyAsync</c> returns leaves them out. Default: none.
    /// </summary>
    public IReadOnlyCollection<PitchlyConformanceRule> SkippedRules { get; set; } = [];

    /// <summary>Gets or sets how long one rule may take before the kit reports it as broken (a hung call). Default: 60 s.</summary>
    public TimeSpan RuleTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

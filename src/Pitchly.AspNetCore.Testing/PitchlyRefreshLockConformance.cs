using Pitchly.AspNetCore.Testing.Internal;

namespace Pitchly.AspNetCore.Testing;

/// <summary>
/// Checks that an <see cref="IPitchlyRefreshLock"/> shared by a web farm admits one holder at a time and tells a holder
/// that lost its lease (the <c>Lock…</c> rules of <see cref="PitchlyConformanceRule"/>), from any test framework:
/// <see cref="VerifyAsync"/> throws a <see cref="PitchlyConformanceException"/> naming the first rule broken.
/// </summary>
/// <remarks>
/// The lock is an efficiency mechanism (the fence in the token record keeps a refresh token from being spent twice), but
/// a lock that admits two holders makes instances queue at the fence instead, and one that never reports a lost lease
/// lets a holder go on as if it still held it.
/// </remarks>
public static class PitchlyRefreshLockConformance
{
    /// <summary>
    /// Gets the rules <see cref="VerifyAsync"/> checks, in order. <see cref="PitchlyConformanceRule.LockLostSignalsLostLease"/>
    /// and <see cref="PitchlyConformanceRule.LockReleasedByOwnerOnly"/> need <see cref="PitchlyRefreshLockConformanceOptions.EndLeaseAsync"/>.
    /// </summary>
    public static IReadOnlyList<PitchlyConformanceRule> Rules { get; } =
        [.. Enum.GetValues<PitchlyConformanceRule>().Where(rule => rule >= PitchlyConformanceRule.LockAdmitsOneHolder)];

    /// <summary>Runs every rule against the lock, each on keys of an organization id unique to this run.</summary>
    /// <param name="newLockOverSameData">
    /// Creates a lock instance over the same backing data each time it is called: what another process of a web farm
    /// would create. The kit calls it up to <see cref="PitchlyRefreshLockConformanceOptions.Contenders"/> times in a rule;
    /// disposing the instances is the caller's business.
    /// </param>
    /// <param name="options">How to exercise the lock; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>
    /// The rules verified: every rule of <see cref="Rules"/> except <see cref="PitchlyRefreshLockConformanceOptions.SkippedRules"/>
    /// and, when <see cref="PitchlyRefreshLockConformanceOptions.EndLeaseAsync"/> is not set, the two rules that need it.
    /// </returns>
    /// <exception cref="PitchlyConformanceException">A rule was broken; <see cref="PitchlyConformanceException.Rule"/> names it.</exception>
    public static Task<IReadOnlyList<PitchlyConformanceRule>> VerifyAsync(
        Func<CancellationToken, ValueTask<IPitchlyRefreshLock>> newLockOverSameData,
        PitchlyRefreshLockConformanceOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newLockOverSameData);
        options ??= new PitchlyRefreshLockConformanceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ExclusionWait, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.GrantWithin, TimeSpan.Zero, nameof(options));
        return RuleRunner.RunAsync(new RefreshLockRules(newLockOverSameData, options).All, options.SkippedRules ?? [], options.RuleTimeout, cancellationToken);
    }
}

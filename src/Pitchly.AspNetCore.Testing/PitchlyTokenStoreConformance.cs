using Pitchly.AspNetCore.Testing.Internal;

namespace Pitchly.AspNetCore.Testing;

/// <summary>
/// Checks that an <see cref="IPitchlyTokenStore"/> keeps every guarantee the token manager relies on (see
/// <see cref="PitchlyConformanceRule"/>), from any test framework: <see cref="VerifyAsync"/> throws a
/// <see cref="PitchlyConformanceException"/> naming the first rule broken.
/// </summary>
/// <example>
/// <code>
/// await PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult&lt;IPitchlyTokenStore&gt;(new SqlTokenStore(connectionString)));
/// </code>
/// </example>
public static class PitchlyTokenStoreConformance
{
    /// <summary>Gets the rules <see cref="VerifyAsync"/> checks, in the order it checks them.</summary>
    public static IReadOnlyList<PitchlyConformanceRule> Rules { get; } =
        [.. Enum.GetValues<PitchlyConformanceRule>().Where(rule => rule < PitchlyConformanceRule.LockAdmitsOneHolder)];

    /// <summary>
    /// Runs every rule against the store, each on keys of an organization id unique to this run (so the backing data may
    /// be shared and hold other records), and removes the records it wrote.
    /// </summary>
    /// <param name="newStoreOverSameData">
    /// Creates a store instance over the same backing data each time it is called: what another process of a web farm
    /// would create (its own connections and caches). A store that has no data outside itself (in memory) returns the same
    /// instance. The kit calls it a few times (up to <see cref="PitchlyTokenStoreConformanceOptions.ConcurrentInstances"/>
    /// at once); disposing the instances is the caller's business.
    /// </param>
    /// <param name="options">How to exercise the store; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>The rules verified: every rule of <see cref="Rules"/> but <see cref="PitchlyTokenStoreConformanceOptions.SkippedRules"/>.</returns>
    /// <exception cref="PitchlyConformanceException">A rule was broken; <see cref="PitchlyConformanceException.Rule"/> names it.</exception>
    public static async Task<IReadOnlyList<PitchlyConformanceRule>> VerifyAsync(
        Func<CancellationToken, ValueTask<IPitchlyTokenStore>> newStoreOverSameData,
        PitchlyTokenStoreConformanceOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newStoreOverSameData);
        options ??= new PitchlyTokenStoreConformanceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.FenceLifetime, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ClockTolerance, TimeSpan.Zero, nameof(options));
        var store = await newStoreOverSameData(cancellationToken);
        var rules = new TokenStoreRules(newStoreOverSameData, store, options);
        try
        {
            return await RuleRunner.RunAsync(rules.All, options.SkippedRules ?? [], options.RuleTimeout, cancellationToken);
        }
        finally
        {
            await rules.CleanUpAsync();
        }
    }
}

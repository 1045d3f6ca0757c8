namespace Pitchly.AspNetCore.Testing.Internal;

/// <summary>Runs rules in order and stops at the first one broken, naming it.</summary>
internal static class RuleRunner
{
    private static readonly TimeSpan HungCallGrace = TimeSpan.FromSeconds(2);

    public static async Task<IReadOnlyList<PitchlyConformanceRule>> RunAsync(
        IEnumerable<ConformanceRule> rules,
        IReadOnlyCollection<PitchlyConformanceRule> skipped,
        TimeSpan ruleTimeout,
        CancellationToken cancellationToken)
    {
        var verified = new List<PitchlyConformanceRule>();
        foreach (var rule in rules.Where(rule => !skipped.Contains(rule.Rule)))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ruleTimeout);
            try
            {
                // WaitAsync as well as the token: an implementation that ignores cancellation still cannot hang the run.
                await rule.CheckAsync(timeout.Token).WaitAsync(ruleTimeout + HungCallGrace, cancellationToken);
            }
            catch (RuleBrokenException exception)
            {
                throw new PitchlyConformanceException(rule.Rule, exception.Message);
            }
            catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or PitchlyRefreshTimeoutException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new PitchlyConformanceException(rule.Rule, $"the check did not finish within {ruleTimeout} (a call hung or kept waiting).", exception);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new PitchlyConformanceException(rule.Rule, $"the implementation threw {exception.GetType().Name}: {exception.Message}", exception);
            }

            verified.Add(rule.Rule);
        }

        return verified;
    }
}

using Pitchly.AspNetCore.Systematic.Tests.Model;

namespace Pitchly.AspNetCore.Systematic.Tests;

/// <summary>
/// Proof that the exploration can fail: with a piece of the protocol planted broken in the model (never in the package),
/// Coyote finds a violated property within the budget. The schedule it was found at is printed.
/// </summary>
public sealed class BrokenVariantTests(ITestOutputHelper output)
{
    [Fact]
    public void A_fence_that_ignores_a_live_owner_is_caught()
        => Find(new FarmScenario { Name = "broken: a fence that ignores a live owner", ScriptedStore = true, Breakage = Breakage.FenceIgnoresLiveOwner, Freezes = 2, EarlyInvalidation = true });

    [Fact]
    public void A_send_without_the_send_deadline_check_is_caught()
        => Find(new FarmScenario { Name = "broken: no send-deadline check", Breakage = Breakage.NoSendDeadlineCheck, Freezes = 3, EarlyInvalidation = true });

    [Fact]
    public void A_compare_and_swap_that_ignores_the_version_is_caught()
        => Find(new FarmScenario { Name = "broken: a compare-and-swap that ignores the version", ScriptedStore = true, Breakage = Breakage.CompareAndSwapIgnoresVersion, CallersPerInstance = 2, Freezes = 2, EarlyInvalidation = true });

    [Fact]
    public void A_refresh_that_decides_on_the_record_read_before_the_lock_is_caught()
        => Find(new FarmScenario { Name = "broken: no re-read after the lock (the re-read kept only for the version)", ScriptedStore = true, Breakage = Breakage.NoReReadAfterLock, CallersPerInstance = 2, EarlyInvalidation = true });

    /// <summary>
    /// A failing seed must replay: explored twice from the same seed, a planted fault is found at the same schedule (a
    /// model that let the thread pool or hash order decide the exploration would differ). The schedule's details are not
    /// compared: in a few runs of many a clock tick lands half a second apart, or another instance makes the second
    /// presentation (the model clock advances when the scheduler shows nothing else able to run, and operations Coyote
    /// does not control can still delay that moment).
    /// </summary>
    [Fact]
    public void A_seed_finds_a_planted_fault_at_the_same_schedule_every_time()
    {
        var scenario = new FarmScenario { Name = "broken: a compare-and-swap that ignores the version (replayed)", ScriptedStore = true, Breakage = Breakage.CompareAndSwapIgnoresVersion, CallersPerInstance = 2, Freezes = 2, EarlyInvalidation = true };
        var first = SystematicRun.Explore(scenario, iterations: 300, seed: 12, secondsFactor: 3, replayable: true);
        var second = SystematicRun.Explore(scenario, iterations: 300, seed: 12, secondsFactor: 3, replayable: true);
        output.WriteLine(first.Describe(nameof(A_seed_finds_a_planted_fault_at_the_same_schedule_every_time)));
        Assert.True(first.Found, first.Describe(nameof(A_seed_finds_a_planted_fault_at_the_same_schedule_every_time)));
        Assert.Equal(first.Schedules, second.Schedules);
    }

    private void Find(FarmScenario scenario, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        // Stops at the first violation; up to three times the scenario budget so that a planted fault is found every run.
        var result = SystematicRun.Explore(scenario, SystematicRun.Iterations(), SystematicRun.Seed(), secondsFactor: 3);
        output.WriteLine(result.Describe(test));
        SystematicRun.Record(result, test);
        Assert.True(result.Found, $"Coyote found no violation of the planted fault: {result.Describe(test)}");
    }
}

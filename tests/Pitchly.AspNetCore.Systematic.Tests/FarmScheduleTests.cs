using Pitchly.AspNetCore.Systematic.Tests.Model;

namespace Pitchly.AspNetCore.Systematic.Tests;

/// <summary>
/// The refresh protocol over the schedules Coyote explores within the budget (see <see cref="SystematicRun"/>): no
/// property may fail on any of them.
/// </summary>
public sealed class FarmScheduleTests(ITestOutputHelper output)
{
    [Fact]
    public void Instances_sharing_the_in_memory_store_never_spend_a_refresh_token_twice()
        => Check(new FarmScenario
        {
            Name = "in-memory store: 3 instances, a frozen instance, cancelling callers, early invalidation, slow answers",
            Freezes = 1,
            CancellingCallers = true,
            EarlyInvalidation = true,
            SlowAnswers = true,
        });

    [Fact]
    public void Instances_sharing_the_scripted_store_with_skewed_clocks_and_a_lost_answer_never_spend_a_refresh_token_twice()
        => Check(new FarmScenario
        {
            Name = "Redis scripts model: 3 instances, clocks up to 20 s ahead of the server, a frozen instance, a lost answer",
            ScriptedStore = true,
            InstanceClockSkew = TimeSpan.FromSeconds(20),
            Freezes = 1,
            LostAnswers = 1,
            CancellingCallers = true,
            EarlyInvalidation = true,
        });

    /// <summary>
    /// A holder frozen after its send check, before its request reaches Pitchly (the farm chaos test's failure): any
    /// reuse must be one the docs name (the holder stalled past its fence with the token in hand), never another.
    /// </summary>
    [Fact]
    public void A_holder_frozen_between_its_send_check_and_the_wire_causes_no_reuse_outside_the_documented_window()
        => Check(new FarmScenario
        {
            Name = "in-memory store: a holder frozen between its send check and the wire",
            Freezes = 1,
            FreezeInTransport = true,
            FreezeOnlyInTransport = true,
            EarlyInvalidation = true,
        });

    private void Check(FarmScenario scenario, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var result = SystematicRun.Explore(scenario, SystematicRun.Iterations(), SystematicRun.Seed());
        output.WriteLine(result.Describe(test));
        SystematicRun.Record(result, test);
        Assert.False(result.Found, result.Describe(test));
    }
}

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>The headline: the load harness, run as its own process, against a farm of separate instance processes.</summary>
public sealed class MultiInstanceTests
{
    [Fact]
    public async Task Three_instances_at_200_concurrent_calls_each_crossing_many_expiries_have_zero_reuse_zero_failures_and_one_grant_per_rotation()
    {
        var (summary, exitCode) = await FarmTest.RunStormAsync(
            ["--instances", "3", "--users", "10", "--concurrency", "200", "--seconds", "12", "--token-lifetime-seconds", "2"]);
        Assert.Equal(3, summary["instances"]);
        Assert.True(summary["requests"] >= 3 * 200, $"Only {summary["requests"]} calls were made.");
        Assert.True(summary["rotations"] >= 10, $"Only {summary["rotations"]} expiries were crossed.");
        Assert.Equal(0, summary["refresh_token_reuse"]);
        Assert.Equal(0, summary["failed_requests"]);
        // One grant per rotation: every rotation a client saw took exactly one grant, and the only grants no client saw
        // are each user's latest, from a renewal that ran beside its user's last call of the run (at most one per user).
        Assert.InRange(summary["refresh_grants"], summary["rotations"], summary["rotations"] + summary["users"]);
        Assert.Equal(0, exitCode);
    }
}

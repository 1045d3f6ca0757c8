using Xunit;

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
        Assert.Equal(summary["rotations"], summary["refresh_grants"]);
        Assert.Equal(0, exitCode);
    }
}

using Pitchly.AspNetCore.Storm;
using Pitchly.AspNetCore.Storm.Orchestration;
using Xunit;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>The headline: the load harness, run as its own process, against a farm of separate instance processes.</summary>
public sealed class MultiInstanceTests
{
    [Fact]
    public async Task Three_instances_at_200_concurrent_calls_each_crossing_many_expiries_have_zero_reuse_zero_failures_and_one_grant_per_rotation()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var storm = ChildProcess.StartStorm(
            "storm",
            ["--instances", "3", "--users", "10", "--concurrency", "200", "--seconds", "12", "--token-lifetime-seconds", "2"]);
        var exited = await storm.WaitForExitAsync(TimeSpan.FromSeconds(90), cancellationToken);
        var output = storm.Output.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(exited, "The harness did not finish within 90 s.");

        var summary = StormSummary.Parse(output);
        Assert.Equal(StormSummary.Names.Count, summary.Count);
        Assert.Equal(3, summary["instances"]);
        Assert.True(summary["requests"] >= 3 * 200, $"Only {summary["requests"]} calls were made.");
        Assert.True(summary["rotations"] >= 10, $"Only {summary["rotations"]} expiries were crossed.");
        Assert.Equal(0, summary["refresh_token_reuse"]);
        Assert.Equal(0, summary["failed_requests"]);
        Assert.Equal(summary["rotations"], summary["refresh_grants"]);
        Assert.Equal(0, storm.ExitCode);
    }
}

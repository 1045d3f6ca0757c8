using System.Globalization;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>
/// The load harness with Pitchly killing still-valid access tokens at random: every call holding a killed token is
/// rejected at once, on every instance, and must end up on the next token rather than fail.
/// </summary>
public sealed class EarlyInvalidationTests
{
    [Theory]
    [InlineData(0.005)]
    [InlineData(0.01)]
    public async Task Three_instances_under_early_invalidation_have_zero_failed_calls_zero_reuse_and_no_grant_beyond_the_rotations_and_the_tokens_killed_before_their_first_use(double rate)
    {
        var (summary, exitCode) = await FarmTest.RunStormAsync(
            [
                "--instances", "3", "--users", "10", "--concurrency", "100", "--seconds", "15", "--token-lifetime-seconds", "3",
                "--early-invalidation-rate", rate.ToString(CultureInfo.InvariantCulture),
            ]);
        Assert.True(summary["early_invalidations"] >= 5, $"Only {summary["early_invalidations"]} tokens were killed early: the fault did not bite.");
        Assert.Equal(0, summary["refresh_token_reuse"]);
        Assert.Equal(0, summary["revoked_families"]);
        Assert.Equal(0, summary["failed_requests"]);
        // Every rotation a client saw took a grant; a grant no client saw is only allowed for a token killed unused, or
        // for a user's latest token, from a renewal that ran beside that user's last call of the run.
        Assert.InRange(summary["refresh_grants"], summary["rotations"], summary["rotations"] + summary["invalidated_before_first_use"] + summary["users"]);
        Assert.Equal(0, exitCode);
    }
}

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>Redis stops answering while calls cross token expiries: nothing is refreshed without the lock.</summary>
public sealed class RedisOutageTests
{
    // Two-second tokens: refreshes fall due while Redis is away.
    private static readonly StormFarmOptions ShortLivedTokens = new() { Instances = 3, Users = 5, TokenLifetime = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task Redis_paused_mid_run_serves_calls_or_fails_them_as_retryable_with_zero_reuse_and_every_instance_recovers()
    {
        await RunThroughOutageAsync(farm => farm.Redis!.PauseAsync(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Redis_restarted_mid_run_serves_calls_or_fails_them_as_retryable_with_zero_reuse_and_every_instance_recovers()
    {
        await RunThroughOutageAsync(farm => farm.Redis!.RestartAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
    }

    private static async Task RunThroughOutageAsync(Func<StormFarm, Task> outage)
    {
        await FarmTest.RunAsync(ShortLivedTokens, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var users = await farm.SignInAllAsync(ct);
            var result = new LoadResult();
            var load = LoadGenerator.RunAsync(client, farm.Instances, users, concurrency: 20, TimeSpan.FromSeconds(8), result, ct);
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
            await outage(farm);
            await load;

            var stats = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"emulator: {stats}");
            TestContext.Current.TestOutputHelper?.WriteLine($"failures: {string.Join(", ", result.Failures.Select(f => $"{f.Value} × {f.Key}"))}");
            Assert.True(result.Requests > 0);
            Assert.Equal(0, stats.RefreshTokenReuse);
            // The only failure allowed is the retryable "token store unavailable"; no user was signed out.
            Assert.All(result.Failures.Keys, failure => Assert.Equal("503 store-unavailable", failure));

            foreach (var user in users)
            {
                await Eventually.HoldsAsync(
                    async () => (await FarmTest.CallEveryInstanceAsync(farm, client, user)).All(o => o.Succeeded),
                    TimeSpan.FromSeconds(30),
                    $"{user} to be served by every instance again");
            }

            Assert.Equal(0, (await farm.Emulator.GetStatsAsync(ct)).RefreshTokenReuse);
        });
    }
}

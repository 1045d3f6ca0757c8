using Pitchly.AspNetCore.Storm.Farm;
using Xunit;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>Runs a test body against a fresh farm and writes every process's output to the test output when it fails.</summary>
internal static class FarmTest
{
    public static async Task RunAsync(StormFarmOptions options, Func<StormFarm, StormClient, Task> body)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var farm = await StormFarm.StartAsync(options, cancellationToken);
        using var client = new StormClient(TimeSpan.FromSeconds(60));
        try
        {
            await body(farm, client);
        }
        catch
        {
            TestContext.Current.TestOutputHelper?.WriteLine(farm.DescribeProcesses());
            throw;
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!await condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Calls <c>/work</c> as <paramref name="user"/> on every instance, <paramref name="rounds"/> times each.</summary>
    public static async Task<List<WorkOutcome>> CallEveryInstanceAsync(StormFarm farm, StormClient client, StormUser user, int rounds = 1)
    {
        var outcomes = new List<WorkOutcome>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var instance in farm.Instances)
            {
                outcomes.Add(await client.WorkAsync(instance, user, TestContext.Current.CancellationToken));
            }
        }

        return outcomes;
    }
}

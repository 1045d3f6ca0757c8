using Pitchly.AspNetCore.Storm;
using Pitchly.AspNetCore.Storm.Orchestration;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>Runs a test body against a fresh farm and writes every process's output to the test output when it fails.</summary>
internal static class FarmTest
{
    /// <summary>Three instances, three users, tokens that outlive the test, and a 1.5 s lock lease that faults outlast.</summary>
    public static readonly StormFarmOptions LongLivedTokens = new()
    {
        Instances = 3,
        Users = 3,
        TokenLifetime = TimeSpan.FromMinutes(10),
        InstanceConfiguration = new Dictionary<string, string>
        {
            ["Pitchly:Redis:LockLease"] = "00:00:01.500",
            ["Pitchly:Redis:LockWaitTimeout"] = "00:00:20",
        },
    };

    /// <summary>
    /// Gives the instances a refresh fence of 5 s whose owner may send only in its first 2 s (the fence outlasts a 3 s
    /// token request timeout), instead of the defaults' 45 s, so a test can outwait a dead or frozen fence's owner.
    /// </summary>
    public static StormFarmOptions WithShortFence(StormFarmOptions options) => options with
    {
        InstanceConfiguration = new Dictionary<string, string>(options.InstanceConfiguration)
        {
            ["Pitchly:TokenManagement:FenceTimeout"] = "00:00:05",
            ["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:00:03",
        },
    };

    /// <summary>
    /// Runs the load harness as its own process with <paramref name="arguments"/>, writes its output to the test output
    /// and returns its summary and exit code.
    /// </summary>
    public static async Task<(IReadOnlyDictionary<string, double> Summary, int ExitCode)> RunStormAsync(IEnumerable<string> arguments)
    {
        await using var storm = ChildProcess.StartStorm("storm", arguments);
        var exited = await storm.WaitForExitAsync(TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);
        var output = storm.Output.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(exited, "The harness did not finish within 90 s.");
        var summary = StormSummary.Parse(output);
        Assert.Equal(StormSummary.Names.Count, summary.Count);
        return (summary, storm.ExitCode);
    }

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

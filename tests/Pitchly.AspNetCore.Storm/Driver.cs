using System.Globalization;
using Pitchly.AspNetCore.Storm.Farm;
using Pitchly.AspNetCore.Storm.Orchestration;

namespace Pitchly.AspNetCore.Storm;

/// <summary>
/// The load harness: starts a farm, signs the users in, keeps <c>--concurrency</c> calls in flight per instance for
/// <c>--seconds</c>, then prints the summary and exits non-zero on any refresh-token reuse or failed call.
/// </summary>
internal static class Driver
{
    public static async Task<int> RunAsync(CommandLine commandLine, CancellationToken cancellationToken)
    {
        var options = new StormFarmOptions
        {
            Instances = commandLine.Integer("instances", 3, 1, 32),
            Users = commandLine.Integer("users", 20, 1, 10_000),
            TokenLifetime = commandLine.Seconds("token-lifetime-seconds", 5, 1, 3600),
            EarlyInvalidationRate = commandLine.Fraction("early-invalidation-rate", 0),
            Redis = commandLine.Text("redis"),
            RedisClusterPrimaries = commandLine.Integer("redis-cluster", 0, 3, 16),
        };
        if (options.Redis is not null && options.RedisClusterPrimaries > 0)
        {
            throw new UsageException("Give either '--redis host:port' or '--redis-cluster N', not both.");
        }

        var concurrency = commandLine.Integer("concurrency", 200, 1, 5_000);
        var duration = commandLine.Seconds("seconds", 60, 1, 3600);
        var requestTimeout = commandLine.Seconds("request-timeout-seconds", 60, 1, 600);
        ParentWatch.Start(commandLine);
        commandLine.RejectUnknown();

        Progress($"starting redis, the emulator and {options.Instances} instances");
        await using var farm = await StormFarm.StartAsync(options, cancellationToken);
        try
        {
            Progress($"signing in {options.Users} users");
            var users = await farm.SignInAllAsync(cancellationToken);
            var result = new LoadResult();
            foreach (var user in users)
            {
                result.AddSignIn(user);
            }

            Progress($"driving {concurrency} concurrent calls per instance for {duration.TotalSeconds:0} s");
            using var client = new StormClient(requestTimeout);
            using (var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var progress = ReportProgressAsync(result, stopProgress.Token);
                await LoadGenerator.RunAsync(client, farm.Instances, users, concurrency, duration, result, cancellationToken);
                await stopProgress.CancelAsync();
                await progress;
            }

            var stats = await farm.Emulator.GetStatsAsync(cancellationToken);

            foreach (var (failure, count) in result.Failures.OrderByDescending(f => f.Value))
            {
                Progress($"failed: {count} × {failure}");
            }

            Progress($"emulator: {stats}");
            Console.Write(StormSummary.Format(options.Instances, options.Users, result, stats));
            var passed = stats.RefreshTokenReuse == 0 && result.FailedRequests == 0;
            if (!passed)
            {
                await Console.Error.WriteLineAsync(farm.DescribeProcesses());
            }

            return passed ? 0 : 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync(farm.DescribeProcesses());
            throw;
        }
    }

    private static async Task ReportProgressAsync(LoadResult result, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Progress($"{result.Requests} calls, {result.FailedRequests} failed, {result.ObservedRotations} rotations seen");
            }
        }
        catch (OperationCanceledException)
        {
            // The load is over.
        }
    }

    private static void Progress(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{TimeProvider.System.GetLocalNow():HH:mm:ss}] {message}"));
}

namespace Pitchly.AspNetCore.Storm;

/// <summary>
/// The load harness: starts a farm, signs the users in, keeps <c>--concurrency</c> calls in flight per instance for
/// <c>--seconds</c> (or, with <c>--rate</c>, starts that many calls per second in total on a fixed schedule), then prints
/// the summary and exits non-zero on any refresh-token reuse or failed call.
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
            RedisSentinel = commandLine.Flag("redis-sentinel"),
            TokenLatency = TimeSpan.FromMilliseconds(commandLine.Integer("token-latency-ms", 0, 0, 60_000)),
        };
        if ((options.Redis is not null ? 1 : 0) + (options.RedisClusterPrimaries > 0 ? 1 : 0) + (options.RedisSentinel ? 1 : 0) > 1)
        {
            throw new UsageException("Give one of '--redis host:port', '--redis-cluster N' and '--redis-sentinel', not several.");
        }

        var failoverEvery = commandLine.Number("failover-every-seconds", 1, 3600);
        if (failoverEvery is not null && !options.RedisSentinel)
        {
            throw new UsageException("'--failover-every-seconds' forces failovers of the Redis Sentinel group: give it with '--redis-sentinel'.");
        }

        var concurrency = commandLine.Integer("concurrency", 200, 1, 5_000);
        var rate = commandLine.Number("rate", 0.1, 100_000);
        if (rate is not null && commandLine.Text("concurrency") is not null)
        {
            throw new UsageException("'--rate' (open loop) and '--concurrency' (closed loop) exclude each other: give one.");
        }

        var duration = commandLine.Seconds("seconds", 60, 1, 3600);
        var warmUp = commandLine.Seconds("warmup-seconds", 0, 0, 600);
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

            Progress(rate is { } target
                ? $"starting {target:0.#} calls per second over {options.Instances} instances for {duration.TotalSeconds:0} s (open loop)"
                : $"driving {concurrency} concurrent calls per instance for {duration.TotalSeconds:0} s");
            using var client = new StormClient(requestTimeout);
            if (warmUp > TimeSpan.Zero)
            {
                // Cold code paths (the first refreshes JIT-compile the refresh path in every instance) would otherwise
                // be the slowest calls of the run: the warm-up's calls count for everything but the latency lines.
                Progress($"warming up for {warmUp.TotalSeconds:0} s (latencies not recorded)");
                result.RecordLatencies = false;
                await RunLoadAsync(warmUp);
                result.RecordLatencies = true;
                await DrainTokenRequestTimesAsync();
            }

            OpenLoopSchedule? schedule = null;
            var failovers = 0;
            var cpu = CpuMeter.Start([Environment.ProcessId, .. farm.ProcessIds]);
            var loadStarted = Stopwatch.GetTimestamp();
            using (var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var progress = ReportProgressAsync(result, stopProgress.Token);
                // No failover starts once the load's time is up: the calls still in flight then are only draining.
                using var loadOver = CancellationTokenSource.CreateLinkedTokenSource(stopProgress.Token);
                loadOver.CancelAfter(duration);
                var failing = failoverEvery is { } seconds && farm.RedisSentinel is { } group
                    ? ForceFailoversAsync(group, TimeSpan.FromSeconds(seconds), () => failovers++, loadOver.Token, cancellationToken)
                    : Task.CompletedTask;
                schedule = await RunLoadAsync(duration);
                await stopProgress.CancelAsync();
                await progress;
                await failing;
            }

            var loadElapsed = Stopwatch.GetElapsedTime(loadStarted);
            var (cpuPercent, machineCpuPercent) = cpu.Stop();
            var stats = await farm.Emulator.GetStatsAsync(cancellationToken);
            var tokenRequests = new LatencyRecorder();
            foreach (var milliseconds in await DrainTokenRequestTimesAsync())
            {
                tokenRequests.Record(TimeSpan.FromMilliseconds(milliseconds));
            }

            async Task<IEnumerable<double>> DrainTokenRequestTimesAsync() =>
                (await Task.WhenAll(farm.Instances.Select(i => client.DrainTokenRequestTimesAsync(i, cancellationToken)))).SelectMany(d => d);

            async Task<OpenLoopSchedule?> RunLoadAsync(TimeSpan length)
            {
                if (rate is { } perSecond)
                {
                    return await LoadGenerator.RunOpenLoopAsync(client, farm.Instances, users, perSecond, length, result, cancellationToken);
                }

                await LoadGenerator.RunAsync(client, farm.Instances, users, concurrency, length, result, cancellationToken);
                return null;
            }

            if (schedule is { KeptUp: false })
            {
                Progress(string.Create(
                    CultureInfo.InvariantCulture,
                    $"the machine did not keep up with {schedule.TargetRate:0.#} calls/s: {schedule.LateStarts} of {schedule.Started} calls started more than {LoadGenerator.LateThreshold.TotalMilliseconds:0} ms late (p99 {schedule.StartLag.Percentile(99):0.0} ms); their latency counts from when they were due, so the figures stay open-loop, but lower the rate before quoting them"));
            }

            foreach (var (failure, count) in result.Failures.OrderByDescending(f => f.Value))
            {
                Progress($"failed: {count} × {failure}");
            }

            Progress($"emulator: {stats}");
            Console.Write(StormSummary.Format(options.Instances, options.Users, result, stats, new StormRunFacts
            {
                TokenLatency = options.TokenLatency,
                TokenRequests = tokenRequests,
                Schedule = schedule,
                LoadElapsed = loadElapsed,
                Failovers = failovers,
                CpuPercent = cpuPercent,
                MachineCpuPercent = machineCpuPercent,
            }));
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

    /// <summary>
    /// Forces a failover of <paramref name="group"/> every <paramref name="interval"/> until <paramref name="stop"/>; one
    /// under way then is waited out, so the farm is left settled and every failover forced is counted.
    /// </summary>
    private static async Task ForceFailoversAsync(RedisSentinelGroup group, TimeSpan interval, Action done, CancellationToken stop, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var started = Stopwatch.GetTimestamp();
                var primary = await group.FailoverAsync(cancellationToken);
                done();
                Progress(string.Create(CultureInfo.InvariantCulture, $"failover: 127.0.0.1:{primary} is the primary, settled in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s"));
            }
        }
        catch (OperationCanceledException)
        {
            // The load is over.
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

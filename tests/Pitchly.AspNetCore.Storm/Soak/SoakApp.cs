using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Redis;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Storm.Soak;

/// <summary>
/// The soak mode (<c>--soak</c>): many users, a few calls each, sent open loop (at a fixed rate, whether or not earlier
/// calls finished) through <see cref="IPitchlyTokenManager.GetAccessTokenAsync"/> in this process, with the in-memory
/// store or the Redis store (its L1 on) on a redis-server started for the run. The calls go round after round over all
/// users, so a user's calls are a round apart; each user's record is written on their first call (a sign-in). The heap
/// after a full collection is printed for the empty process (one that has served a warm-up of 1,000 users, as many
/// calls at the same rate as the soak sends, and idled past their time-to-live), at intervals while calls run, and while the process idles past the records' time-to-live;
/// the run fails (exit code 1) unless the heap then returns within <c>--tolerance</c> (10 %) of the empty process, or
/// if a call failed.
/// </summary>
/// <remarks>
/// At most <c>--max-in-flight</c> calls (1,024) run at once; calls due past that wait for the next tick of the sender.
/// Each call starts on the thread pool, whose global queue keeps the size of its largest backlog for the life of the
/// process: an uncapped backlog on a busy machine (36,000 calls once) left 0.5 MB of queue that the empty process never
/// had, and the comparison would have measured the machine's load instead of the store. For the same reason the warm-up
/// sends the soak's traffic (its number of calls, at its rate) to its 1,000 users: the connection's, the pools' and the
/// thread pool's buffers then grow to the same traffic in both, and what the soak leaves beyond the empty process is
/// what its population left.
/// </remarks>
public static class SoakApp
{
    public static async Task<int> RunAsync(CommandLine commandLine, CancellationToken cancellationToken)
    {
        var store = commandLine.Text("store") ?? "memory";
        if (store is not ("memory" or "redis"))
        {
            throw new UsageException($"'--store' is 'memory' or 'redis' (got '{store}').");
        }

        var users = commandLine.Integer("users", 100_000, 1, 10_000_000);
        var callsPerUser = commandLine.Integer("calls-per-user", 3, 1, 1000);
        var rate = commandLine.Integer("rate", store == "memory" ? 20_000 : 5_000, 1, 1_000_000);
        var timeToLive = commandLine.Seconds("ttl-seconds", 20, 1, 3600);
        var reportEvery = commandLine.Seconds("report-seconds", 5, 1, 3600);
        var tolerance = commandLine.Fraction("tolerance", 0.10);
        var maxInFlight = commandLine.Integer("max-in-flight", 1_024, 1, 1_000_000);
        commandLine.RejectUnknown();

        if ((double)users / rate >= timeToLive.TotalSeconds / 2)
        {
            throw new UsageException(
                $"A round over {users:N0} users at {rate:N0} calls/s takes {(double)users / rate:N1} s: it must be under half of --ttl-seconds "
                + $"({timeToLive.TotalSeconds:N0}), or records expire between a user's calls. Raise --rate or --ttl-seconds, or lower --users.");
        }

        await using var redis = store == "redis" ? await RedisServer.StartAsync(cancellationToken) : null;
        using var multiplexer = redis is null ? null : await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await using var services = BuildServices(multiplexer, timeToLive);
        var tokenStore = services.GetRequiredService<IPitchlyTokenStore>();
        var manager = services.GetRequiredService<IPitchlyTokenManager>();
        var clock = Stopwatch.StartNew();

        Console.WriteLine($"Soak: {store} store, {users:N0} users, {callsPerUser} calls each, {rate:N0} calls/s open loop, records idle-expire after {timeToLive.TotalSeconds:N0} s.");
        var cold = FullCollectionHeap();
        Report(clock, "cold process (services built, no call yet)", cold, cold);

        // The empty process: one that has served (code compiled, pools and the thread pool grown, the connection
        // busy) and holds no user now. A small population goes through the same load (as many calls, at the same rate)
        // and idles past its time-to-live.
        var warmUpUsers = Math.Min(users, 1_000);
        var warmUpCallsPerUser = (int)Math.Ceiling((double)users * callsPerUser / warmUpUsers);
        var failures = await LoadAsync("warm-up", warmUpUsers, warmUpCallsPerUser, empty: cold);
        await IdleAsync(empty: cold);
        var empty = FullCollectionHeap();
        Report(clock, $"empty process (after a warm-up of {warmUpUsers:N0} users, {warmUpCallsPerUser:N0} calls each, and their time-to-live)", empty, empty);

        failures += await LoadAsync("soak", users, callsPerUser, empty);
        var heap = await IdleAsync(empty);

        var within = heap <= empty * (1 + tolerance);
        Console.WriteLine(
            $"Soak {(within && failures == 0 ? "passed" : "FAILED")}: heap {Mb(heap)} after the records' time-to-live against {Mb(empty)} empty "
            + $"({Percent(heap, empty)}; allowed +{tolerance:P0}); {failures:N0} calls failed.");
        return within && failures == 0 ? 0 : 1;

        // Round after round over all users, open loop: the calls due by now are started whatever the earlier ones are
        // doing. A user's calls are a round apart (users / rate seconds); the first is a sign-in (the record written).
        async Task<long> LoadAsync(string name, int population, int callsEach, long empty)
        {
            var totalCalls = (long)population * callsEach;

            // A user's later calls wait for their sign-in, which a slow write could otherwise let them overtake.
            var signIns = new Task[population];
            var sent = 0L;
            var failed = 0L;
            Exception? firstFailure = null;
            var outstanding = 0L;
            var maxOutstanding = 0L;
            var heldBack = 0L;
            var start = clock.Elapsed;
            var nextReport = reportEvery;
            while (sent < totalCalls)
            {
                var due = Math.Min(totalCalls, (long)((clock.Elapsed - start).TotalSeconds * rate) + 1);
                for (; sent < due; sent++)
                {
                    // Calls past the cap wait for the next tick (see --max-in-flight).
                    if (Interlocked.Read(ref outstanding) >= maxInFlight)
                    {
                        heldBack++;
                        break;
                    }

                    Interlocked.Increment(ref outstanding);
                    var call = CallAsync(sent);
                    if (sent < population)
                    {
                        signIns[sent] = call;
                    }
                }

                maxOutstanding = Math.Max(maxOutstanding, Interlocked.Read(ref outstanding));
                if (clock.Elapsed - start >= nextReport)
                {
                    Report(clock, $"{name}: calls running, {sent:N0} sent", FullCollectionHeap(), empty);
                    nextReport += reportEvery;
                }

                await Task.Delay(10, cancellationToken);
            }

            while (Interlocked.Read(ref outstanding) > 0)
            {
                await Task.Delay(10, cancellationToken);
            }

            if (firstFailure is not null)
            {
                Console.WriteLine($"First failed call: {firstFailure.GetType().Name}: {firstFailure.Message}");
            }

            var seconds = (clock.Elapsed - start).TotalSeconds;
            Report(
                clock,
                $"{name}: all {sent:N0} calls done ({failed:N0} failed, at most {maxOutstanding:N0} in flight, {sent / seconds:N0} calls/s, "
                + $"held back at the cap on {heldBack:N0} ticks of 10 ms)",
                FullCollectionHeap(),
                empty);
            return failed;

            async Task CallAsync(long call)
            {
                try
                {
                    await Task.Yield();
                    var key = PitchlyTokenKey.ForUser("soak", $"{name}-{call % population}");
                    if (call < population)
                    {
                        await tokenStore.SetAsync(key, NewRecord(), cancellationToken);
                    }
                    else
                    {
                        await signIns[call % population];
                    }

                    await manager.GetAccessTokenAsync(key, cancellationToken);
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.CompareExchange(ref firstFailure, exception, null);
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    Interlocked.Decrement(ref outstanding);
                }
            }
        }

        // A record idle for the time-to-live is gone when next looked at, and the sweeps (every time-to-live) take the
        // rest: two time-to-lives and a margin after the last call, every record has been swept.
        async Task<long> IdleAsync(long empty)
        {
            var lastCall = clock.Elapsed;
            var idleUntil = lastCall + (2 * timeToLive) + TimeSpan.FromSeconds(5);
            long heap;
            do
            {
                var left = idleUntil - clock.Elapsed;
                await Task.Delay(left <= TimeSpan.Zero ? TimeSpan.Zero : reportEvery < left ? reportEvery : left, cancellationToken);
                heap = FullCollectionHeap();
                Report(clock, $"idle {(clock.Elapsed - lastCall).TotalSeconds:N0} s", heap, empty);
            }
            while (clock.Elapsed < idleUntil);

            return heap;
        }
    }

    private static ServiceProvider BuildServices(IConnectionMultiplexer? multiplexer, TimeSpan timeToLive)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var builder = services.AddPitchlyTokenManagement(options => options.InMemoryRecordTimeToLive = timeToLive);
        if (multiplexer is not null)
        {
            builder.AddRedis(
                _ => multiplexer,
                options =>
                {
                    options.AllowUnsharedDataProtectionKeys = true;
                    options.AssumeNoReplicas = true;
                    options.RecordTimeToLive = timeToLive;
                    options.L1MaxAge = timeToLive;
                });
            services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
        }

        return services.BuildServiceProvider();
    }

    private static PitchlyTokenRecord NewRecord()
    {
        var now = TimeProvider.System.GetUtcNow();
        return new PitchlyTokenRecord
        {
            AccessToken = "soak-access-" + Guid.NewGuid().ToString("N"),
            RefreshToken = "soak-refresh-" + Guid.NewGuid().ToString("N"),
            IssuedAt = now,
            ExpiresAt = now.AddMinutes(10),
        };
    }

    private static long FullCollectionHeap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static void Report(Stopwatch clock, string phase, long heap, long empty) =>
        Console.WriteLine(
            $"[{clock.Elapsed.TotalSeconds,6:F1} s] heap after full GC {Mb(heap),10} ({Percent(heap, empty)} of empty), "
            + $"working set {Mb(Environment.WorkingSet),10} — {phase}");

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture) + " MB";

    private static string Percent(long heap, long empty) => ((double)heap / empty).ToString("P0", CultureInfo.InvariantCulture);

}

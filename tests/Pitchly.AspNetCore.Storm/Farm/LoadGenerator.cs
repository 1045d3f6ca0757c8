namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// Drives <c>/work</c> calls for a fixed time, every user's cookie reaching every instance (no session affinity):
/// closed-loop (<see cref="RunAsync"/>: a fixed number of calls in flight, each started when the previous one ended)
/// or open-loop (<see cref="RunOpenLoopAsync"/>: calls started on a fixed schedule whatever the earlier ones are doing).
/// </summary>
public static class LoadGenerator
{
    /// <summary>Runs the load and returns what the clients measured.</summary>
    /// <param name="client">Sends the calls.</param>
    /// <param name="instances">The instances to load; each gets <paramref name="concurrency"/> calls in flight.</param>
    /// <param name="users">The signed-in users.</param>
    /// <param name="concurrency">Calls in flight per instance.</param>
    /// <param name="duration">How long to keep starting calls; calls in flight then finish (bounded by the client's timeout).</param>
    /// <param name="result">Where outcomes go (pass one to read it while the load runs).</param>
    /// <param name="cancellationToken">Stops the load early.</param>
    public static async Task<LoadResult> RunAsync(
        StormClient client,
        IReadOnlyList<StormInstance> instances,
        IReadOnlyList<StormUser> users,
        int concurrency,
        TimeSpan duration,
        LoadResult? result = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        ArgumentOutOfRangeException.ThrowIfZero(users.Count);
        result ??= new LoadResult();
        var deadline = TimeProvider.System.GetTimestamp() + (long)(duration.TotalSeconds * TimeProvider.System.TimestampFrequency);
        var workers = instances
            .SelectMany(instance => Enumerable.Range(0, concurrency).Select(_ => WorkAsync(instance)))
            .ToList();
        await Task.WhenAll(workers);
        return result;

        async Task WorkAsync(StormInstance instance)
        {
            await Task.Yield();
            while (!cancellationToken.IsCancellationRequested && TimeProvider.System.GetTimestamp() < deadline)
            {
                var user = users[Random.Shared.Next(users.Count)];
                result.Add(user, await client.WorkAsync(instance, user, cancellationToken));
            }
        }
    }

    /// <summary>
    /// Starts calls on a fixed schedule, <paramref name="rate"/> per second in total for <paramref name="duration"/>:
    /// call <c>i</c> is due at <c>i / rate</c> seconds, goes to instance <c>i mod N</c> (round robin, like a load
    /// balancer) as a user picked at random (so every user reaches every instance, at no fixed rhythm: a fixed user
    /// order would send each user to every instance within a few milliseconds, always in the same order), and starts
    /// at its due time whatever the calls before it are doing. Its latency counts from the due time, not from when it could be sent (no coordinated omission); a call
    /// sent more than <see cref="LateThreshold"/> after it was due counts as a late start. Returns once every call ended.
    /// </summary>
    /// <param name="client">Sends the calls.</param>
    /// <param name="instances">The instances to load.</param>
    /// <param name="users">The signed-in users.</param>
    /// <param name="rate">Calls per second over all instances.</param>
    /// <param name="duration">How long to keep starting calls; calls in flight then finish (bounded by the client's timeout).</param>
    /// <param name="result">Where outcomes go (pass one to read it while the load runs).</param>
    /// <param name="cancellationToken">Stops the load early.</param>
    public static async Task<OpenLoopSchedule> RunOpenLoopAsync(
        StormClient client,
        IReadOnlyList<StormInstance> instances,
        IReadOnlyList<StormUser> users,
        double rate,
        TimeSpan duration,
        LoadResult? result = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        ArgumentOutOfRangeException.ThrowIfZero(users.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        result ??= new LoadResult();
        var schedule = new OpenLoopSchedule(rate);
        var frequency = Stopwatch.Frequency;
        var total = (long)Math.Round(rate * duration.TotalSeconds);
        var calls = new List<Task>((int)Math.Min(total, 1_000_000));
        var start = Stopwatch.GetTimestamp();
        for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
        {
            var due = start + (long)(i * frequency / rate);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > frequency / 1000)
            {
                // Timers fire about a millisecond late at best: calls due meanwhile start together after the wake-up.
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / frequency), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var instance = instances[(int)(i % instances.Count)];
            var user = users[Random.Shared.Next(users.Count)];
            // On the pool, not inline: sending runs synchronously up to its first wait, which would hold the schedule.
            calls.Add(Task.Run(() => CallAsync(instance, user, due), CancellationToken.None));
        }

        schedule.Elapsed = Stopwatch.GetElapsedTime(start);
        await Task.WhenAll(calls);
        return schedule;

        async Task CallAsync(StormInstance instance, StormUser user, long due)
        {
            schedule.RecordStart(Stopwatch.GetElapsedTime(due));
            result.Add(user, await client.WorkAsync(instance, user, due, cancellationToken));
        }
    }

    /// <summary>How late after its due time an open-loop call may be sent before it counts as a late start.</summary>
    public static TimeSpan LateThreshold { get; } = TimeSpan.FromMilliseconds(10);
}

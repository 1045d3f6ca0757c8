namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// Keeps <c>concurrency</c> calls in flight against every instance for a fixed time; each call is one of the users,
/// picked at random, so every user's cookie reaches every instance (no session affinity).
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
}

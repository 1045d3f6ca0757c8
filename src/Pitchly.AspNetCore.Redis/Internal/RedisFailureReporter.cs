using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// What an operation does when Redis cannot be reached: count it (<c>pitchly.store.unavailable</c>), log it under the
/// category of the type that ran it, and fail with a retryable <see cref="PitchlyTokenStoreUnavailableException"/>.
/// </summary>
internal sealed class RedisFailureReporter(PitchlyMetrics metrics, ILogger logger)
{
    /// <summary>Runs <paramref name="operation"/>; a Redis failure is reported and thrown as unavailability.</summary>
    /// <param name="description">The operation as the log and the exception name it ("a read").</param>
    /// <param name="operation">The operation.</param>
    public async ValueTask<T> RunAsync<T>(string description, Func<ValueTask<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            throw Unavailable(description, exception);
        }
    }

    /// <summary>Counts and logs <paramref name="exception"/>, and returns the exception to throw for it.</summary>
    public PitchlyTokenStoreUnavailableException Unavailable(string description, Exception exception)
    {
        metrics.StoreUnavailable.Add(1);
        RedisLog.RedisUnavailable(logger, description, exception);
        return RedisFailures.Unavailable(description, exception);
    }

    /// <summary>Counts a read that failed and was answered from the cache instead, under the outage policy.</summary>
    public void ServingCachedTokens(string hash, long version)
    {
        metrics.StoreUnavailable.Add(1);
        RedisLog.ServingCachedTokensDuringOutage(logger, hash, version);
    }
}

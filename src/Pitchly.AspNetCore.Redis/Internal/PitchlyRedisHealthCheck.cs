using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>Reports whether the Redis server behind the token store and refresh lock answers a PING.</summary>
internal sealed class PitchlyRedisHealthCheck(RedisConnection? connection = null) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (connection is null)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                "Pitchly's Redis mode is not configured: call services.AddPitchlyTokenManagement().AddRedis(...).");
        }

        try
        {
            var database = await connection.GetDatabaseAsync(cancellationToken);
            var latency = await database.PingAsync();
            return HealthCheckResult.Healthy(
                $"Redis answered PING in {latency.TotalMilliseconds:F1} ms.",
                new Dictionary<string, object> { ["latency_ms"] = latency.TotalMilliseconds });
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis could not be reached; token refreshes fail until it can.", exception);
        }
    }
}

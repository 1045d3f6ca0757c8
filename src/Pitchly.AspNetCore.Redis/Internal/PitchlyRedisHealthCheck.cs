using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Reports whether the Redis server behind the token store and refresh lock answers a PING, and Degraded while writes of
/// tokens go unconfirmed by a replica (replication state unknown, or a replica that did not acknowledge in time).
/// </summary>
internal sealed class PitchlyRedisHealthCheck(RedisConnection? connection = null, ReplicaAcknowledgement? acknowledgement = null) : IHealthCheck
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
            var data = new Dictionary<string, object> { ["latency_ms"] = latency.TotalMilliseconds };
            if (acknowledgement is not null
                && await acknowledgement.UnconfirmedReasonAsync(database, connection.Names.DataProtectionCanary) is { } reason)
            {
                data["unconfirmed_writes"] = reason;
                var consequence = connection.Options.UnacknowledgedWritePolicy == PitchlyRedisUnacknowledgedWritePolicy.FailRetryably
                    ? "they fail retryably (UnacknowledgedWritePolicy FailRetryably)"
                    : "they go on with the primary's copy alone (UnacknowledgedWritePolicy AcceptPrimaryOnly), which a failover could roll back";
                return HealthCheckResult.Degraded(
                    $"Redis answered PING in {latency.TotalMilliseconds:F1} ms, but writes of tokens are not confirmed by a replica ({reason}): "
                    + $"{consequence}. If this deployment has no replicas, set Pitchly:Redis:AssumeNoReplicas to true.",
                    data: data);
            }

            return HealthCheckResult.Healthy($"Redis answered PING in {latency.TotalMilliseconds:F1} ms.", data);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Redis could not be reached; token refreshes fail until it can.", exception);
        }
    }
}

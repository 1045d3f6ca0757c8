using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pitchly.AspNetCore.Redis.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the health check of Pitchly's web-farm mode.</summary>
public static class PitchlyRedisHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that the Redis server behind Pitchly's token store and refresh lock answers a PING. Unhealthy means
    /// token refreshes fail (retryably) until Redis is back. Degraded means Redis answers but writes of tokens go
    /// unconfirmed by a replica (its replication state is unknown, or a replica did not acknowledge a write in time):
    /// they fail retryably under the default <see cref="Pitchly.AspNetCore.Redis.PitchlyRedisUnacknowledgedWritePolicy.FailRetryably"/>;
    /// the description says which setting applies (<see cref="Pitchly.AspNetCore.Redis.PitchlyRedisOptions.AssumeNoReplicas"/>
    /// for a deployment without replicas).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name (default <c>pitchly-redis</c>).</param>
    /// <param name="failureStatus">The status reported when Redis cannot be reached (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags to filter checks by, for example <c>ready</c>.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddPitchlyRedisHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "pitchly-redis",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            static provider => ActivatorUtilities.CreateInstance<PitchlyRedisHealthCheck>(provider),
            failureStatus,
            tags));
    }
}

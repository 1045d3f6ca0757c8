using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a health check of Pitchly's token endpoint.</summary>
public static class PitchlyTokenEndpointHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check that Pitchly's token endpoint (<c>Pitchly:TokenEndpoint</c>) is reachable: a POST without
    /// credentials or grant that must be answered with a JSON OAuth error. No secret is sent and no token is spent.
    /// Unhealthy (or <paramref name="failureStatus"/>) when the endpoint cannot be reached, times out, answers 5xx, or
    /// answers something that is not a token endpoint's error.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name (default <c>pitchly-token-endpoint</c>).</param>
    /// <param name="failureStatus">The status reported on failure; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by, for example <c>ready</c>.</param>
    /// <param name="timeout">How long the probe may take (default 5 seconds).</param>
    /// <returns>The same builder.</returns>
    public static IHealthChecksBuilder AddPitchlyTokenEndpointHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "pitchly-token-endpoint",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var probeTimeout = timeout ?? TimeSpan.FromSeconds(5);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(probeTimeout, TimeSpan.Zero, nameof(timeout));
        builder.Services.AddPitchlyTokenManagement();
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new PitchlyTokenEndpointHealthCheck(
                services.GetRequiredService<IHttpClientFactory>(),
                services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>(),
                probeTimeout),
            failureStatus,
            tags));
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Pitchly token management.</summary>
public static class PitchlyTokenManagementServiceCollectionExtensions
{
    /// <summary>
    /// Adds the per-user and per-install token store (in memory unless configured otherwise) and the services that
    /// keep Pitchly access tokens valid. Safe to call more than once.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder to configure token management further.</returns>
    public static PitchlyTokenManagementBuilder AddPitchlyTokenManagement(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PitchlyMetrics>();
        services.TryAddSingleton<IPitchlyTokenStore, InMemoryPitchlyTokenStore>();
        services.TryAddSingleton<IPitchlyRefreshLock, InProcessRefreshLock>();
        return new PitchlyTokenManagementBuilder(services);
    }
}

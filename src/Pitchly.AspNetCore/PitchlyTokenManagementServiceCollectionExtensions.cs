using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.Http;
using Pitchly.AspNetCore.Internal.Replay;
using Pitchly.AspNetCore.Internal.TokenExchange;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Pitchly token management.</summary>
public static class PitchlyTokenManagementServiceCollectionExtensions
{
    /// <summary>
    /// Adds the per-user and per-install token store (in memory unless configured otherwise), the token manager
    /// (<see cref="IPitchlyTokenManager"/>), the client of Pitchly's token endpoint and the services of
    /// <c>app.MapPitchlyTokenExchange()</c> (settings in <c>Pitchly:TokenExchange</c>). Settings are bound from the
    /// <c>Pitchly</c> and <c>Pitchly:TokenManagement</c> configuration sections and validated at start-up. Safe to call
    /// more than once.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder to configure token management further.</returns>
    public static PitchlyTokenManagementBuilder AddPitchlyTokenManagement(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.AddHttpClient(PitchlyTokenClient.HttpClientName)
            .RedactCredentialHeaders()
            .ConfigureHttpClient((provider, client) => client.Timeout = provider.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>().CurrentValue.TokenRequestTimeout);
        PitchlyRedirects.Refuse(services, PitchlyTokenClient.HttpClientName);
        PitchlyRedirects.Refuse(services, PitchlyTokenExchangeHandler.HttpClientName);
        services.AddOptions<PitchlyTokenManagementOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PitchlyTokenManagementOptions>, ConfigurePitchlyTokenManagementOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlyTokenManagementOptions>, TakeCredentialsFromSignIn>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlyTokenManagementOptions>, DeriveTokenManagementTimeouts>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyTokenManagementOptions>, ValidatePitchlyTokenManagementOptions>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PitchlyMetrics>();
        services.TryAddSingleton<IPitchlyTokenStore, InMemoryPitchlyTokenStore>();
        services.TryAddSingleton<IPitchlyRefreshLock, InProcessRefreshLock>();
        services.TryAddSingleton<PitchlyTokenClient>();
        services.TryAddSingleton<IPitchlyTokenManager, PitchlyTokenManager>();
        services.TryAddSingleton<RejectedTokenBreaker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IExceptionHandler, PitchlyExceptionHandler>());
        PitchlyTokenExchangeRegistration.AddTokenExchange(services);
        return new PitchlyTokenManagementBuilder(services);
    }

    /// <summary>
    /// Adds Pitchly token management as <see cref="AddPitchlyTokenManagement(IServiceCollection)"/> does and configures
    /// its settings in code (applied after the configuration sections).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Configures the settings.</param>
    /// <returns>A builder to configure token management further.</returns>
    public static PitchlyTokenManagementBuilder AddPitchlyTokenManagement(this IServiceCollection services, Action<PitchlyTokenManagementOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddPitchlyTokenManagement();
        services.Configure(configure);
        return builder;
    }
}

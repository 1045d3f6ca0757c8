using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Emulator;
using Pitchly.AspNetCore.Emulator.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Pitchly emulator's state service.</summary>
public static class PitchlyEmulatorServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="PitchlyEmulator"/> singleton and its options; map its endpoints with
    /// <c>MapPitchlyEmulator()</c>. Time comes from the registered <see cref="TimeProvider"/> (the system clock unless
    /// one is registered, e.g. a fake one in tests). When the endpoints are mapped, the host refuses to start on a non-loopback
    /// listen address unless <see cref="PitchlyEmulatorOptions.AllowRemote"/> is set.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Edits the options; runs after any configuration binding.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddPitchlyEmulator(this IServiceCollection services, Action<PitchlyEmulatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PitchlyEmulatorOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyEmulatorOptions>, PitchlyEmulatorOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ListenAddressCheck>());
        services.TryAddSingleton(provider => new PitchlyEmulator(
            provider.GetRequiredService<IOptions<PitchlyEmulatorOptions>>().Value,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<PitchlyEmulator>>()));
        return services;
    }

    /// <summary>
    /// Adds the <see cref="PitchlyEmulator"/> singleton with options bound from the <c>Pitchly:Emulator</c> section of
    /// <paramref name="configuration"/> (so <c>Pitchly__Emulator__AccessTokenLifetime=00:00:05</c> works).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The root configuration.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddPitchlyEmulator(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<PitchlyEmulatorOptions>().Bind(configuration.GetSection(PitchlyEmulatorDefaults.ConfigurationSection));
        return services.AddPitchlyEmulator();
    }
}

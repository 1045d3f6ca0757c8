using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>Registers how calls made as the signed-in user find that user.</summary>
internal static class PitchlyUserKeyRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.TryAddSingleton<CircuitServicesAccessor>();
        services.TryAddSingleton(provider => CurrentUserKey.Create(provider, services));
        services.TryAddSingleton<IPitchlyUserKeyAccessor, DefaultPitchlyUserKeyAccessor>();
    }

    public static void AddCircuitSupport(IServiceCollection services)
    {
        Add(services);
        services.TryAddEnumerable(ServiceDescriptor.Scoped<CircuitHandler, PitchlyCircuitHandler>());
    }
}

using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore;

/// <summary>
/// Returned by <c>AddPitchlyTokenManagement()</c> to configure token management further, for example
/// <c>.AddRedis(...)</c> for web farms.
/// </summary>
public sealed class PitchlyTokenManagementBuilder
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="services">The application's services.</param>
    public PitchlyTokenManagementBuilder(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Services = services;
    }

    /// <summary>Gets the application's services.</summary>
    public IServiceCollection Services { get; }
}

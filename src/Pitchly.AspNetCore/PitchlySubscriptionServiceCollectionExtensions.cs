using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Subscriptions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Pitchly subscription client.</summary>
public static class PitchlySubscriptionServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IPitchlySubscriptionClient"/>, which runs GraphQL subscriptions over Pitchly's graphql-ws
    /// endpoint with tokens from <see cref="IPitchlyTokenManager"/>. Settings come from <c>Pitchly:Subscriptions</c> (the
    /// endpoint, by default, from <c>Pitchly:GraphQLEndpoint</c>) and are validated at start-up. Also adds token
    /// management if it was not added. Safe to call more than once.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddPitchlySubscriptionClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        PitchlySubscriptionRegistration.Add(services);
        return services;
    }

    /// <summary>
    /// Adds <see cref="IPitchlySubscriptionClient"/> as <see cref="AddPitchlySubscriptionClient(IServiceCollection)"/>
    /// does and configures its settings in code (applied after the configuration section).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Configures the settings.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddPitchlySubscriptionClient(this IServiceCollection services, Action<PitchlySubscriptionClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddPitchlySubscriptionClient();
        services.Configure(configure);
        return services;
    }
}

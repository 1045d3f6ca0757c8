using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Users;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>Registers the subscription client, its settings and what it depends on.</summary>
internal static class PitchlySubscriptionRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.AddPitchlyTokenManagement();
        PitchlyUserKeyRegistration.Add(services);
        PitchlyGraphQLRegistration.AddGraphQLClientOptions(services);
        services.AddOptions<PitchlySubscriptionClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PitchlySubscriptionClientOptions>, ConfigurePitchlySubscriptionClientOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlySubscriptionClientOptions>, DerivePitchlySubscriptionEndpoint>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlySubscriptionClientOptions>, ValidatePitchlySubscriptionClientOptions>());
        services.TryAddSingleton<IPitchlySubscriptionClient, PitchlySubscriptionClient>();
    }
}

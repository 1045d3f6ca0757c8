using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>Registers the GraphQL client's settings; shared by the client and the token exchange, which queries the organization.</summary>
internal static class PitchlyGraphQLRegistration
{
    public static void AddGraphQLClientOptions(IServiceCollection services)
    {
        services.AddOptions<PitchlyGraphQLClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PitchlyGraphQLClientOptions>, ConfigurePitchlyGraphQLClientOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlyGraphQLClientOptions>, DeriveGraphQLEndpoint>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyGraphQLClientOptions>, ValidatePitchlyGraphQLClientOptions>());
    }
}

using Microsoft.Extensions.Configuration;
using Pitchly.Samples.Shared;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the samples' GraphQL data client.</summary>
public static class PitchlyDataClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="PitchlyDataClient"/> as a typed HttpClient aimed at <c>Pitchly:GraphQLEndpoint</c>. Chain the
    /// handler that attaches the token: <c>.AddPitchlyUserAccessToken()</c> or <c>.AddPitchlyInstallAccessToken(...)</c>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The configuration holding the <c>Pitchly</c> section.</param>
    public static IHttpClientBuilder AddPitchlyDataClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration["Pitchly:GraphQLEndpoint"];
        var endpoint = string.IsNullOrWhiteSpace(configured) ? PitchlyDataClient.DefaultEndpoint : new Uri(configured, UriKind.Absolute);
        return services.AddHttpClient<PitchlyDataClient>(client =>
        {
            client.BaseAddress = endpoint;
            client.MaxResponseContentBufferSize = PitchlyDataClient.MaxResponseBytes;
        });
    }
}

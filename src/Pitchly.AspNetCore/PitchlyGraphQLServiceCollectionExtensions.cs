using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the typed Pitchly GraphQL client.</summary>
public static class PitchlyGraphQLServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IPitchlyGraphQLClient"/>, calling Pitchly as the signed-in user of the current request (the
    /// user's access token, refreshed and replayed once when Pitchly rejects it). The endpoint comes from
    /// <c>Pitchly:GraphQLEndpoint</c>. Also adds token management if it was not added.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>The client's <see cref="IHttpClientBuilder"/>, to add resilience or other handlers.</returns>
    /// <exception cref="InvalidOperationException">The GraphQL client was already added.</exception>
    public static IHttpClientBuilder AddPitchlyGraphQLClient(this IServiceCollection services)
        => services.AddPitchlyGraphQLClient(static http => http.AddPitchlyUserAccessToken());

    /// <summary>
    /// Adds <see cref="IPitchlyGraphQLClient"/> with the credential that <paramref name="authenticate"/> adds to its
    /// <see cref="HttpClient"/>, for example <c>http =&gt; http.AddPitchlyInstallAccessToken(organizationId)</c> for a
    /// background service, <c>http =&gt; http.AddPitchlyApiKey()</c>, <c>http =&gt; http.AddPitchlySelfSignedJwt()</c>, or
    /// <c>http =&gt; http.AddPitchlyUserAccessToken(o =&gt; o.Placement = PitchlyTokenPlacement.Both)</c> for the legacy API.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="authenticate">Adds exactly one Pitchly credential handler to the client.</param>
    /// <returns>The client's <see cref="IHttpClientBuilder"/>, to add resilience or other handlers.</returns>
    /// <exception cref="InvalidOperationException">The GraphQL client was already added.</exception>
    public static IHttpClientBuilder AddPitchlyGraphQLClient(this IServiceCollection services, Action<IHttpClientBuilder> authenticate)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(authenticate);
        if (services.Any(static descriptor => descriptor.ServiceType == typeof(IPitchlyGraphQLClient)))
        {
            // A second call would stack a second credential handler on the same client.
            throw new InvalidOperationException(
                "AddPitchlyGraphQLClient was already called. Register it once; for a second credential, create a typed HttpClient with AddHttpClient<T>().AddPitchlyInstallAccessToken(...).");
        }

        services.AddPitchlyTokenManagement();
        PitchlyGraphQLRegistration.AddGraphQLClientOptions(services);
        var builder = services.AddHttpClient<IPitchlyGraphQLClient, PitchlyGraphQLClient>(PitchlyGraphQLClient.HttpClientName);
        PitchlyRedirects.Refuse(services, PitchlyGraphQLClient.HttpClientName);
        authenticate(builder);
        return builder;
    }
}

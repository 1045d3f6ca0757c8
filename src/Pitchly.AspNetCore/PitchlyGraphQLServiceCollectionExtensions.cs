using Microsoft.Extensions.DependencyInjection.Extensions;
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
    /// <remarks>Calling it again adds nothing (the README's quick start and its typed-client section both call it).</remarks>
    /// <exception cref="InvalidOperationException">The client was already added with another credential.</exception>
    public static IHttpClientBuilder AddPitchlyGraphQLClient(this IServiceCollection services)
        => services.AddPitchlyGraphQLClient(static http => http.AddPitchlyUserAccessToken());

    /// <summary>
    /// Adds <see cref="IPitchlyGraphQLClient"/> with the credential that <paramref name="authenticate"/> adds to its
    /// <see cref="HttpClient"/>, for example <c>http =&gt; http.AddPitchlyInstallAccessToken(organizationId)</c> for a
    /// background service, <c>http =&gt; http.AddPitchlyAccessToken(resolveKey)</c> for a key chosen per request,
    /// <c>http =&gt; http.AddPitchlyApiKey()</c>, <c>http =&gt; http.AddPitchlySelfSignedJwt()</c>, or
    /// <c>http =&gt; http.AddPitchlyUserAccessToken(o =&gt; o.Placement = PitchlyTokenPlacement.Both)</c> for the legacy API.
    /// Calling it again with the same credential adds nothing; for a second credential add a named client
    /// (<see cref="AddPitchlyGraphQLClient(IServiceCollection, string, Action{IHttpClientBuilder})"/>).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="authenticate">Adds exactly one Pitchly credential handler to the client.</param>
    /// <returns>The client's <see cref="IHttpClientBuilder"/>, to add resilience or other handlers.</returns>
    /// <exception cref="InvalidOperationException">The client was already added with another credential.</exception>
    public static IHttpClientBuilder AddPitchlyGraphQLClient(this IServiceCollection services, Action<IHttpClientBuilder> authenticate)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(authenticate);
        var builder = AddClient(services, PitchlyGraphQLClient.HttpClientName, authenticate);
        services.TryAddTransient<IPitchlyGraphQLClient>(static provider => PitchlyGraphQLClient.Create(provider, PitchlyGraphQLClient.HttpClientName));
        return builder;
    }

    /// <summary>
    /// Adds a second (third, …) <see cref="IPitchlyGraphQLClient"/> beside the default one, as a keyed service named
    /// <paramref name="name"/> with its own credential: for example one client as the signed-in user and one as an
    /// install, <c>services.AddPitchlyGraphQLClient("install", http =&gt; http.AddPitchlyInstallAccessToken(organizationId))</c>,
    /// taken with <c>[FromKeyedServices("install")] IPitchlyGraphQLClient</c> or
    /// <c>GetRequiredKeyedService&lt;IPitchlyGraphQLClient&gt;("install")</c>. Its <see cref="HttpClient"/> is named
    /// <c>Pitchly.GraphQL:</c> followed by <paramref name="name"/>. Calling it again with the same name and credential adds nothing.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="name">The client's service key.</param>
    /// <param name="authenticate">Adds exactly one Pitchly credential handler to the client.</param>
    /// <returns>The client's <see cref="IHttpClientBuilder"/>, to add resilience or other handlers.</returns>
    /// <exception cref="InvalidOperationException">A client of that name was already added with another credential.</exception>
    public static IHttpClientBuilder AddPitchlyGraphQLClient(this IServiceCollection services, string name, Action<IHttpClientBuilder> authenticate)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(authenticate);
        var httpClientName = PitchlyGraphQLClient.HttpClientName + ":" + name;
        var builder = AddClient(services, httpClientName, authenticate);
        services.TryAddKeyedTransient<IPitchlyGraphQLClient>(name, (provider, _) => PitchlyGraphQLClient.Create(provider, httpClientName));
        return builder;
    }

    private static IHttpClientBuilder AddClient(IServiceCollection services, string httpClientName, Action<IHttpClientBuilder> authenticate)
    {
        services.AddPitchlyTokenManagement();
        PitchlyGraphQLRegistration.AddGraphQLClientOptions(services);
        var builder = services.AddHttpClient(httpClientName);
        PitchlyRedirects.Refuse(services, httpClientName);
        authenticate(builder);
        return builder;
    }
}

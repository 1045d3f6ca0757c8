using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// The typed GraphQL client: a typed HttpClient whose pipeline holds the access-token handler chosen at registration.
/// Its body (<see cref="GraphQLOperationContent"/>) tells the handler how to serialise it again, so the token variable, when used, is written while serialising and a replay
/// after a refresh is serialised again with the new token.
/// </summary>
internal sealed class PitchlyGraphQLClient : IPitchlyGraphQLClient
{
    public const string HttpClientName = "Pitchly.GraphQL";

    private static readonly MediaTypeWithQualityHeaderValue[] Accept =
    [
        new("application/graphql-response+json"),
        new("application/json", 0.9),
    ];

    private readonly HttpClient _httpClient;
    private readonly IOptionsMonitor<PitchlyGraphQLClientOptions> _options;

    public PitchlyGraphQLClient(HttpClient httpClient, IOptionsMonitor<PitchlyGraphQLClientOptions> options)
    {
        _httpClient = httpClient;
        _options = options;
    }

    /// <summary>Creates the client over the named <see cref="HttpClient"/> (the default client's or a keyed one's).</summary>
    public static PitchlyGraphQLClient Create(IServiceProvider services, string httpClientName) => new(
        services.GetRequiredService<IHttpClientFactory>().CreateClient(httpClientName),
        services.GetRequiredService<IOptionsMonitor<PitchlyGraphQLClientOptions>>());

    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    public Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyGraphQLRequest request, CancellationToken cancellationToken = default)
        => SendAsync(request, (JsonTypeInfo<TData>)JsonSerializerOptions.Web.GetTypeInfo(typeof(TData)), cancellationToken);

    public Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default)
        => SendCoreAsync(key: null, request, dataTypeInfo, cancellationToken);

    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    public Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, CancellationToken cancellationToken = default)
        => SendAsync(key, request, (JsonTypeInfo<TData>)JsonSerializerOptions.Web.GetTypeInfo(typeof(TData)), cancellationToken);

    public Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SendCoreAsync(key, request, dataTypeInfo, cancellationToken);
    }

    private async Task<PitchlyGraphQLResponse<TData>> SendCoreAsync<TData>(PitchlyTokenKey? key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(dataTypeInfo);
        var options = _options.CurrentValue;
        using var message = new HttpRequestMessage(HttpMethod.Post, options.Endpoint) { Content = GraphQLRequestWriter.CreateOperationContent(request, dataTypeInfo.Options) };
        if (key is not null)
        {
            // Honoured by the access-token handlers; a client with another credential refuses it rather than send that.
            message.Options.Set(PitchlyHttpRequestOptions.TokenKey, key);
        }

        foreach (var accept in Accept)
        {
            message.Headers.Accept.Add(accept);
        }

        using var response = await _httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return await GraphQLResponseReader.ReadAsync(response, message, dataTypeInfo, options.MaxResponseSize, cancellationToken);
    }
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// Asks Pitchly's GraphQL API which organization an access token belongs to (<c>{ organization { id } }</c>, the
/// query Pitchly's own sign-in uses), so the browser's claim of an organization is never trusted on its own.
/// </summary>
internal sealed class OrganizationVerifier
{
    private const int MaxResponseSize = 64 * 1024;
    private static readonly byte[] Query = Encoding.UTF8.GetBytes("""{"query":"{ organization { id } }"}""");

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptionsMonitor<PitchlyGraphQLClientOptions> _graphQLOptions;

    public OrganizationVerifier(IHttpClientFactory httpClientFactory, IOptionsMonitor<PitchlyGraphQLClientOptions> graphQLOptions)
    {
        _httpClientFactory = httpClientFactory;
        _graphQLOptions = graphQLOptions;
    }

    /// <summary>Returns the organization id Pitchly reports for <paramref name="accessToken"/>, or <see langword="null"/> when it says none.</summary>
    public async Task<string?> GetOrganizationIdAsync(string accessToken, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(Query);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, _graphQLOptions.CurrentValue.Endpoint) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var client = _httpClientFactory.CreateClient(PitchlyTokenExchangeHandler.HttpClientName);

        // HttpClient.Timeout ends at the headers; the same bound is kept for the body.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(client.Timeout);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = response.IsSuccessStatusCode ? await BoundedBody.ReadAsync(response.Content, MaxResponseSize, timeout.Token) : null;
            if (body is null)
            {
                return null;
            }

            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                && data.TryGetProperty("organization", out var organization) && organization.ValueKind == JsonValueKind.Object
                && organization.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or JsonException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: as unverifiable as an unreachable API.
            return null;
        }
    }
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// Asks Pitchly's GraphQL API which organization an access token belongs to (<c>{ organization { id } }</c>, the
/// query Pitchly's own sign-in uses), and, in the same request, whether a database the browser claimed for the install is
/// one of that organization's that the token can see, so neither claim of the browser is trusted on its own.
/// </summary>
internal sealed class OrganizationVerifier
{
    private const int MaxResponseSize = 64 * 1024;
    private static readonly byte[] Query = Encoding.UTF8.GetBytes("""{"query":"{ organization { id } }"}""");

    // The database is looked up with the current platform's documented `workspace(id)` field: it is the platform the
    // GraphQL endpoint defaults to and the one this request already speaks (bearer token, `id` fields), it answers for one
    // id rather than a list to scan, and it resolves only within the token's organization and what the token may see, so
    // an unknown id or another organization's database comes back null. The legacy `databases { _id }` list is not asked:
    // the current API has no such field, and one unknown field fails the whole request, organization check included.
    // The id travels as a GraphQL variable, never inside the query text.
    private const string DatabaseQuery = "query PitchlyInstall($databaseId: ID!) { organization { id } workspace(id: $databaseId) { id } }";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptionsMonitor<PitchlyGraphQLClientOptions> _graphQLOptions;

    public OrganizationVerifier(IHttpClientFactory httpClientFactory, IOptionsMonitor<PitchlyGraphQLClientOptions> graphQLOptions)
    {
        _httpClientFactory = httpClientFactory;
        _graphQLOptions = graphQLOptions;
    }

    /// <summary>Returns the organization id Pitchly reports for <paramref name="accessToken"/>, or <see langword="null"/> when it says none.</summary>
    public async Task<string?> GetOrganizationIdAsync(string accessToken, CancellationToken cancellationToken) =>
        (await VerifyAsync(accessToken, databaseId: null, cancellationToken))?.OrganizationId;

    /// <summary>
    /// Asks, in one GraphQL request, which organization <paramref name="accessToken"/> belongs to and, when
    /// <paramref name="databaseId"/> is given, whether Pitchly knows that database for the token. Returns
    /// <see langword="null"/> when Pitchly could not be asked or did not name the organization.
    /// </summary>
    public async Task<InstallVerification?> VerifyAsync(string accessToken, string? databaseId, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(databaseId is null ? Query : DatabaseRequest(databaseId));
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
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
                || IdOf(data, "organization") is not { } organizationId)
            {
                return null;
            }

            // Confirmed only by a clean answer that names the very id: any GraphQL error (not found, not authorized, an
            // API without the field) leaves the database unconfirmed, even next to data.
            var hasErrors = root.TryGetProperty("errors", out var errors) && errors.ValueKind != JsonValueKind.Null
                && !(errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() == 0);
            var databaseConfirmed = databaseId is not null && !hasErrors
                && string.Equals(IdOf(data, "workspace"), databaseId, StringComparison.Ordinal);
            return new InstallVerification(organizationId, databaseConfirmed);
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

    private static byte[] DatabaseRequest(string databaseId)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("query", DatabaseQuery);
            writer.WriteStartObject("variables");
            writer.WriteString("databaseId", databaseId);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string? IdOf(JsonElement data, string field) =>
        data.TryGetProperty(field, out var node) && node.ValueKind == JsonValueKind.Object
        && node.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()
            : null;
}

using System.Text.Json;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>The app's GraphQL client: asks Pitchly who the signed-in user is, with the user's access token.</summary>
internal sealed class ViewerClient(HttpClient http)
{
    private static readonly object ViewerQuery = new { query = "{ viewer { person { id } } }" };

    /// <summary>Returns the person id Pitchly reports for the current user's token.</summary>
    /// <exception cref="GraphQLCallException">Pitchly answered with errors or without a person.</exception>
    public async Task<string> GetViewerPersonIdAsync(CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(string.Empty, ViewerQuery, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GraphQLCallException($"GraphQL answered HTTP {(int)response.StatusCode}");
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            && data.TryGetProperty("viewer", out var viewer) && viewer.ValueKind == JsonValueKind.Object
            && viewer.TryGetProperty("person", out var person) && person.ValueKind == JsonValueKind.Object
            && person.TryGetProperty("id", out var id) && id.GetString() is { } personId)
        {
            return personId;
        }

        var code = root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
            && errors[0].TryGetProperty("extensions", out var extensions) && extensions.TryGetProperty("code", out var codeElement)
                ? codeElement.GetString()
                : "no person";
        throw new GraphQLCallException($"GraphQL answered without a person ({code})");
    }
}

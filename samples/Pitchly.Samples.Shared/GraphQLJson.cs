using System.Text.Json;

namespace Pitchly.Samples.Shared;

/// <summary>Reads GraphQL answers without trusting their shape: every getter tolerates nulls, missing members and wrong types.</summary>
internal static class GraphQLJson
{
    private const int ExcerptLength = 200;

    public static GraphQLResult Parse(int statusCode, string? mediaType, string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return new GraphQLResult(statusCode, null, [], $"Pitchly answered HTTP {statusCode} ({mediaType ?? "no content type"}) with a body that is not JSON: {Excerpt(body)}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new GraphQLResult(statusCode, null, [], $"Pitchly answered HTTP {statusCode} with a JSON {root.ValueKind.ToString().ToLowerInvariant()} instead of a GraphQL answer: {Excerpt(body)}");
            }

            var errors = ReadErrors(root);
            JsonElement? data = root.TryGetProperty("data", out var dataElement) && dataElement.ValueKind == JsonValueKind.Object
                ? dataElement.Clone()
                : null;
            string? problem = null;
            if (errors.Count == 0 && data is null)
            {
                problem = $"Pitchly answered HTTP {statusCode} with neither data nor errors: {Excerpt(body)}";
            }
            else if (errors.Count == 0 && statusCode is < 200 or > 299)
            {
                problem = $"Pitchly answered HTTP {statusCode}.";
            }

            return new GraphQLResult(statusCode, data, errors, problem);
        }
    }

    public static GraphQLResult Failure(string problem) => new(null, null, [], problem);

    public static JsonElement? Object(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(name, out var child) && child.ValueKind == JsonValueKind.Object
            ? child
            : null;

    public static IEnumerable<JsonElement> Objects(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(name, out var child) && child.ValueKind == JsonValueKind.Array
            ? child.EnumerateArray().Where(item => item.ValueKind == JsonValueKind.Object)
            : [];

    public static string? String(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(name, out var child) ? Text(child) : null;

    /// <summary>A cell value as text: strings as they are, null as nothing, anything else as its JSON.</summary>
    public static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => value.GetRawText(),
    };

    /// <summary>Formats a string as a GraphQL string literal (GraphQL's escapes are a superset of what JSON emits).</summary>
    public static string Literal(string value) => JsonSerializer.Serialize(value);

    private static List<GraphQLError> ReadErrors(JsonElement root)
    {
        var errors = new List<GraphQLError>();
        if (!root.TryGetProperty("errors", out var list))
        {
            return errors;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new GraphQLError($"Unreadable errors member: {Excerpt(list.GetRawText())}", null));
            return errors;
        }

        foreach (var error in list.EnumerateArray())
        {
            if (error.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new GraphQLError(Excerpt(error.GetRawText()), null));
                continue;
            }

            var code = String(Object(error, "extensions"), "code") ?? String(Object(error, "data"), "error");
            errors.Add(new GraphQLError(String(error, "message") ?? "(an error without a message)", code));
        }

        return errors;
    }

    private static string Excerpt(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= ExcerptLength ? trimmed : string.Concat(trimmed.AsSpan(0, ExcerptLength), "…");
    }
}

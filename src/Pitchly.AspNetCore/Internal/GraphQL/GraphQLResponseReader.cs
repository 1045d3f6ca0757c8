using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// Reads Pitchly's answer into a <see cref="PitchlyGraphQLResponse{TData}"/>: capped in size, JSON only, errors in both
/// of Pitchly's styles. Anything that is not a GraphQL response becomes a <see cref="PitchlyGraphQLException"/> whose
/// message carries the status and at most a short excerpt with token-like text removed. Error messages are redacted
/// (<see cref="SecretRedaction"/>) as they are read, with the secrets the request carried: a server that echoes a
/// variable must not put the token into an error, an exception or a log.
/// </summary>
internal static partial class GraphQLResponseReader
{
    private const int ExcerptLength = 160;

    /// <summary>Reads the answer to <paramref name="request"/>, whose credential and secret-named variables are redacted from any text of the answer.</summary>
    public static async Task<PitchlyGraphQLResponse<TData>> ReadAsync<TData>(
        HttpResponseMessage response,
        HttpRequestMessage request,
        JsonTypeInfo<TData> dataTypeInfo,
        int maxResponseSize,
        CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await BoundedBody.ReadAsync(response.Content, maxResponseSize, cancellationToken) ?? throw TooLarge(maxResponseSize, status);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is not null && !IsJson(mediaType))
        {
            throw NotGraphQL(response.StatusCode, $"with {mediaType}", body, await KnownSecrets.FromRequestAsync(request, cancellationToken));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException exception)
        {
            throw NotGraphQL(response.StatusCode, "with a body that is not JSON", body, await KnownSecrets.FromRequestAsync(request, cancellationToken), exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!IsResult(root))
            {
                throw NotGraphQL(response.StatusCode, "with JSON that is neither data nor errors", body, await KnownSecrets.FromRequestAsync(request, cancellationToken));
            }

            // The request's secrets are looked up only when there is an error text to redact.
            var secrets = HasErrors(root) ? await KnownSecrets.FromRequestAsync(request, cancellationToken) : KnownSecrets.None;
            return FromResult(root, dataTypeInfo, response.StatusCode, secrets);
        }
    }

    /// <summary>Tells whether a GraphQL result carries at least one error.</summary>
    internal static bool HasErrors(JsonElement root) =>
        root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0;

    /// <summary>Tells whether a JSON value is a GraphQL result: an object with <c>data</c> or an <c>errors</c> array.</summary>
    internal static bool IsResult(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty("data", out _) || (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array));

    /// <summary>
    /// Reads a GraphQL result (an HTTP response's body, or the payload of a graphql-ws <c>next</c> message) that
    /// <see cref="IsResult"/> accepted. Error messages are redacted of <paramref name="secrets"/> and of anything that looks like one.
    /// </summary>
    internal static PitchlyGraphQLResponse<TData> FromResult<TData>(JsonElement root, JsonTypeInfo<TData> dataTypeInfo, HttpStatusCode statusCode, KnownSecrets secrets)
    {
        var errors = root.TryGetProperty("errors", out var errorsElement) && errorsElement.ValueKind == JsonValueKind.Array ? ReadErrors(errorsElement, secrets) : [];
        var data = default(TData);
        if (root.TryGetProperty("data", out var dataElement) && dataElement.ValueKind != JsonValueKind.Null)
        {
            try
            {
                data = dataElement.Deserialize(dataTypeInfo);
            }
            catch (JsonException exception)
            {
                // JsonException names the path and the type, never the value.
                throw new PitchlyGraphQLException(
                    $"Pitchly's GraphQL data does not fit {typeof(TData).Name}: {exception.Message}", errors, (int)statusCode, exception);
            }
        }

        return new PitchlyGraphQLResponse<TData>(data, errors, statusCode);
    }

    /// <summary>Reads a GraphQL <c>errors</c> array; each message is redacted of <paramref name="secrets"/> and of anything that looks like one.</summary>
    internal static PitchlyGraphQLError[] ReadErrors(JsonElement errors, KnownSecrets secrets)
    {
        var result = new List<PitchlyGraphQLError>(errors.GetArrayLength());
        foreach (var error in errors.EnumerateArray())
        {
            if (error.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var message = error.TryGetProperty("message", out var messageElement) && messageElement.ValueKind == JsonValueKind.String
                ? messageElement.GetString()!
                : string.Empty;
            result.Add(new PitchlyGraphQLError(SecretRedaction.Redact(message, secrets), ReadCode(error), ReadPath(error)));
        }

        return [.. result];
    }

    private static string? ReadCode(JsonElement error)
    {
        if (error.TryGetProperty("extensions", out var extensions) && extensions.ValueKind == JsonValueKind.Object
            && extensions.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String)
        {
            return code.GetString();
        }

        // The legacy platform's Meteor errors carry the code in data.error.
        return error.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            && data.TryGetProperty("error", out var legacy) && legacy.ValueKind == JsonValueKind.String
            ? legacy.GetString()
            : null;
    }

    private static object[]? ReadPath(JsonElement error)
    {
        if (!error.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var segments = new List<object>(path.GetArrayLength());
        foreach (var segment in path.EnumerateArray())
        {
            if (segment.ValueKind == JsonValueKind.String)
            {
                segments.Add(segment.GetString()!);
            }
            else if (segment.ValueKind == JsonValueKind.Number && segment.TryGetInt32(out var index))
            {
                segments.Add(index);
            }
        }

        return [.. segments];
    }

    private static PitchlyGraphQLException TooLarge(int cap, int status) => new(
        $"Pitchly's GraphQL endpoint answered with more than {cap} bytes (HTTP {status}); the answer was not read. Ask for less data or raise PitchlyGraphQLClientOptions.MaxResponseSize.",
        [],
        status);

    private static bool IsJson(string mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);

    private static PitchlyGraphQLException NotGraphQL(HttpStatusCode statusCode, string what, byte[] body, KnownSecrets secrets, Exception? inner = null)
    {
        var status = (int)statusCode;
        var message = $"Pitchly's GraphQL endpoint answered HTTP {status} {what}, not a GraphQL response. Check Pitchly:GraphQLEndpoint. Excerpt: \"{Excerpt(body, secrets)}\"";
        return statusCode == HttpStatusCode.Forbidden
            ? new PitchlyNotAuthorizedException(message, [], status, inner)
            : new PitchlyGraphQLException(message, [], status, inner);
    }

    /// <summary>The first characters of a body, on one line, with the request's secrets and runs that could be tokens or secrets redacted.</summary>
    internal static string Excerpt(ReadOnlySpan<byte> body, KnownSecrets? secrets = null)
    {
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, ExcerptLength * 4)]);
        text = SecretRedaction.RedactExcerpt(text, secrets);
        text = Whitespace().Replace(text, " ").Trim();
        return text.Length <= ExcerptLength ? text : string.Concat(text.AsSpan(0, ExcerptLength), "…");
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// Writes a <see cref="PitchlyGraphQLRequest"/> as the JSON body Pitchly expects, with the access token as the first
/// variable when one is given: the token is written while serialising, never spliced into finished bytes.
/// </summary>
internal static class GraphQLRequestWriter
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    public static HttpContent CreateContent(PitchlyGraphQLRequest request, string? accessToken, JsonSerializerOptions serializerOptions)
    {
        var content = new ByteArrayContent(Serialize(request, accessToken, serializerOptions));
        content.Headers.ContentType = JsonContentType;
        return content;
    }

    /// <summary>
    /// Creates the body of <paramref name="request"/> without a token, which the access-token handler serialises again
    /// with each token it sends in the <c>accessToken</c> variable.
    /// </summary>
    public static HttpContent CreateOperationContent(PitchlyGraphQLRequest request, JsonSerializerOptions serializerOptions)
    {
        var content = new GraphQLOperationContent(
            Serialize(request, accessToken: null, serializerOptions),
            accessToken => CreateContent(request, accessToken, serializerOptions));
        content.Headers.ContentType = JsonContentType;
        return content;
    }

    private static byte[] Serialize(PitchlyGraphQLRequest request, string? accessToken, JsonSerializerOptions serializerOptions)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + request.Query.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, request, accessToken, serializerOptions);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the request object (also the <c>payload</c> of a graphql-ws <c>subscribe</c> message).</summary>
    internal static void Write(Utf8JsonWriter writer, PitchlyGraphQLRequest request, string? accessToken, JsonSerializerOptions serializerOptions)
    {
        writer.WriteStartObject();
        writer.WriteString("query"u8, request.Query);
        if (request.OperationName is not null)
        {
            writer.WriteString("operationName"u8, request.OperationName);
        }

        if (request.Variables is { Count: > 0 } || accessToken is not null)
        {
            writer.WriteStartObject("variables"u8);
            if (accessToken is not null)
            {
                writer.WriteString(PitchlyAccessTokenHandler.AccessTokenVariable, accessToken);
            }

            foreach (var (name, value) in request.Variables ?? EmptyVariables)
            {
                // The handler owns the token variable: a caller's value would be stale after a refresh.
                if (accessToken is not null && name == PitchlyAccessTokenHandler.AccessTokenVariable)
                {
                    continue;
                }

                writer.WritePropertyName(name);
                WriteValue(writer, value, serializerOptions);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static readonly Dictionary<string, object?> EmptyVariables = [];

    private static void WriteValue(Utf8JsonWriter writer, object? value, JsonSerializerOptions serializerOptions)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case int number:
                writer.WriteNumberValue(number);
                break;
            case long number:
                writer.WriteNumberValue(number);
                break;
            case double number:
                writer.WriteNumberValue(number);
                break;
            case decimal number:
                writer.WriteNumberValue(number);
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case JsonNode node:
                node.WriteTo(writer, serializerOptions);
                break;
            default:
                JsonSerializer.Serialize(writer, value, serializerOptions.GetTypeInfo(value.GetType()));
                break;
        }
    }
}

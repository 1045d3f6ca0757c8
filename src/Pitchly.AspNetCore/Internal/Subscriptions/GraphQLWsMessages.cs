using System.Buffers;
using System.Net;
using System.Text.Json;
using Pitchly.AspNetCore.Internal.GraphQL;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>The graphql-ws messages the client writes, and what it reads from the server's messages.</summary>
internal static class GraphQLWsMessages
{
    public static bool IsOurs(JsonElement root, string id) =>
        root.TryGetProperty("id", out var value) && value.ValueKind == JsonValueKind.String && value.ValueEquals(id);

    public static string? TypeOf(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;

    public static JsonDocument? Parse(ReadOnlyMemory<byte> message)
    {
        try
        {
            return JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The exception an <c>error</c> message raises; its GraphQL errors' messages are redacted of <paramref name="secrets"/> and of anything that looks like one.</summary>
    public static PitchlyGraphQLException OperationError(JsonElement root, KnownSecrets secrets)
    {
        var errors = root.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Array
            ? GraphQLResponseReader.ReadErrors(payload, secrets)
            : [];
        if (errors.Length == 0)
        {
            return new PitchlyGraphQLException("Pitchly answered the subscription with an error message that carries no GraphQL errors.", errors, null);
        }

        try
        {
            new PitchlyGraphQLResponse<object>(null, errors, HttpStatusCode.OK).EnsureNoErrors();
        }
        catch (PitchlyGraphQLException exception)
        {
            return exception;
        }

        return new PitchlyGraphQLException("Pitchly answered the subscription with an error.", errors, null);
    }

    public static byte[] WriteConnectionInit(string accessToken)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + accessToken.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, MessageType.ConnectionInit);
            writer.WriteStartObject("payload"u8);
            writer.WriteString("authorization"u8, "Bearer " + accessToken);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] WriteSubscribe<TData>(SubscriptionRequest<TData> subscription)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + subscription.Request.Query.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, subscription.Id);
            writer.WriteString("type"u8, MessageType.Subscribe);
            writer.WritePropertyName("payload"u8);
            GraphQLRequestWriter.Write(writer, subscription.Request, accessToken: null, subscription.DataTypeInfo.Options);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] WriteComplete(string id)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("type"u8, MessageType.Complete);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] WriteMessage(string type)
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, type);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

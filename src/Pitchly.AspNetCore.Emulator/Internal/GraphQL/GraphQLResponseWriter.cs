using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Shapes GraphQL responses and errors the way the current platform or the legacy platform does.</summary>
internal static class GraphQLResponseWriter
{
    private const string LegacyNotAuthorized = "not-authorized";
    private const string LegacyTokenInvalid = "token-invalid";

    /// <summary>
    /// The unauthenticated response, in Pitchly's documented member order: <c>{"data":null,"errors":[…]}</c>.
    /// </summary>
    public static void WriteUnauthenticated(Utf8JsonWriter writer, string reason, PitchlyEmulatorErrorStyle style)
    {
        writer.WriteStartObject();
        writer.WriteNull("data");
        writer.WriteStartArray("errors");
        if (style == PitchlyEmulatorErrorStyle.Legacy)
        {
            WriteLegacy(writer, "Token is invalid or expired [token-invalid]", LegacyTokenInvalid, reason, null, null);
        }
        else
        {
            WriteError(writer, reason, GraphQLErrorCodes.Unauthenticated, null, null, style);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>A response with one request-level error and no <c>data</c>.</summary>
    public static void WriteRequestError(Utf8JsonWriter writer, string message, string code, PitchlyEmulatorErrorStyle style)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("errors");
        WriteError(writer, message, code, null, null, style);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes one error: <c>{message, locations, path, extensions: {code}}</c>; in the legacy style a permission error is
    /// Meteor's: the code in <c>data.error</c> (and in the message's brackets), the detail in <c>data.reason</c>.
    /// </summary>
    public static void WriteError(
        Utf8JsonWriter writer,
        string message,
        string code,
        IEnumerable<GraphQLParser.Location>? locations,
        IEnumerable<object>? path,
        PitchlyEmulatorErrorStyle style)
    {
        if (style == PitchlyEmulatorErrorStyle.Legacy && code == GraphQLErrorCodes.Forbidden)
        {
            WriteLegacy(writer, "You are not authorized to do this [not-authorized]", LegacyNotAuthorized, message, locations, path);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("message", message);
        WriteLocationsAndPath(writer, locations, path);
        writer.WriteStartObject("extensions");
        writer.WriteString("code", code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The code an error reports in <c>extensions.code</c>.</summary>
    public static string CodeOf(ExecutionError error) => error switch
    {
        GraphQLFieldException field => field.Code!,
        SyntaxError => GraphQLErrorCodes.ParseFailed,
        InvalidVariableError => GraphQLErrorCodes.BadUserInput,
        ValidationError => GraphQLErrorCodes.ValidationFailed,
        NoOperationError or NoOperationNameError or InvalidOperationNameError => GraphQLErrorCodes.OperationResolutionFailure,
        DocumentError => GraphQLErrorCodes.BadRequest,
        _ => GraphQLErrorCodes.InternalServerError,
    };

    private static void WriteLegacy(
        Utf8JsonWriter writer,
        string message,
        string code,
        string reason,
        IEnumerable<GraphQLParser.Location>? locations,
        IEnumerable<object>? path)
    {
        writer.WriteStartObject();
        writer.WriteString("message", message);
        writer.WriteStartObject("data");
        writer.WriteString("error", code);
        writer.WriteString("reason", reason);
        writer.WriteEndObject();
        writer.WriteStartObject("extensions");
        writer.WriteString("code", code);
        writer.WriteEndObject();
        WriteLocationsAndPath(writer, locations, path);
        writer.WriteEndObject();
    }

    private static void WriteLocationsAndPath(Utf8JsonWriter writer, IEnumerable<GraphQLParser.Location>? locations, IEnumerable<object>? path)
    {
        if (locations is not null)
        {
            writer.WriteStartArray("locations");
            foreach (var location in locations)
            {
                writer.WriteStartObject();
                writer.WriteNumber("line", location.Line);
                writer.WriteNumber("column", location.Column);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (path is not null)
        {
            writer.WriteStartArray("path");
            foreach (var segment in path)
            {
                if (segment is int index)
                {
                    writer.WriteNumberValue(index);
                }
                else
                {
                    writer.WriteStringValue(segment.ToString());
                }
            }

            writer.WriteEndArray();
        }
    }
}

/// <summary>Writes GraphQL.NET's errors in the emulator's shapes (see <see cref="GraphQLResponseWriter.WriteError"/>).</summary>
internal sealed class EmulatorErrorJsonConverter(PitchlyEmulatorErrorStyle style) : System.Text.Json.Serialization.JsonConverter<ExecutionError>
{
    public override bool CanConvert(Type typeToConvert) => typeof(ExecutionError).IsAssignableFrom(typeToConvert);

    public override ExecutionError Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("GraphQL errors are only written.");

    public override void Write(Utf8JsonWriter writer, ExecutionError value, JsonSerializerOptions options) =>
        GraphQLResponseWriter.WriteError(writer, value.Message, GraphQLResponseWriter.CodeOf(value), value.Locations, value.Path, style);
}

using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Shapes GraphQL responses and errors the way the current platform or the legacy platform does.</summary>
internal static class GraphQLResponseWriter
{
    /// <summary>
    /// The unauthenticated response, in Pitchly's documented member order: <c>{"data":null,"errors":[…]}</c>.
    /// </summary>
    public static JsonObject Unauthenticated(string reason, PitchlyEmulatorErrorStyle style) => new()
    {
        ["data"] = null,
        ["errors"] = new JsonArray(
            style == PitchlyEmulatorErrorStyle.Legacy
                ? LegacyError("Token is invalid or expired [token-invalid]", "token-invalid", reason)
                : PlatformError(new GraphQLError(reason, GraphQLErrorCodes.Unauthenticated))),
    };

    /// <summary>A response with errors: errors first, as the GraphQL spec recommends, then data when execution started.</summary>
    public static JsonObject WithErrors(IEnumerable<GraphQLError> errors, PitchlyEmulatorErrorStyle style, JsonObject? data, bool includeData)
    {
        var response = new JsonObject
        {
            ["errors"] = new JsonArray([.. errors.Select(error => Format(error, style))]),
        };
        if (includeData)
        {
            response["data"] = data;
        }

        return response;
    }

    public static JsonObject Format(GraphQLError error, PitchlyEmulatorErrorStyle style)
    {
        if (style == PitchlyEmulatorErrorStyle.Legacy && error.Code == GraphQLErrorCodes.Forbidden)
        {
            var legacy = LegacyError("You are not authorized to do this [not-authorized]", "not-authorized", error.Message);
            AddLocationAndPath(legacy, error);
            return legacy;
        }

        return PlatformError(error);
    }

    private static JsonObject PlatformError(GraphQLError error)
    {
        var formatted = new JsonObject { ["message"] = error.Message };
        AddLocationAndPath(formatted, error);
        formatted["extensions"] = new JsonObject { ["code"] = error.Code };
        return formatted;
    }

    // Meteor's errors: the code in data.error (and in the message's brackets), the detail in data.reason.
    private static JsonObject LegacyError(string message, string code, string reason) => new()
    {
        ["message"] = message,
        ["data"] = new JsonObject { ["error"] = code, ["reason"] = reason },
        ["extensions"] = new JsonObject { ["code"] = code },
    };

    private static void AddLocationAndPath(JsonObject formatted, GraphQLError error)
    {
        if (error.Location is { } location)
        {
            formatted["locations"] = new JsonArray(new JsonObject { ["line"] = location.Line, ["column"] = location.Column });
        }

        if (error.Path is { } path)
        {
            formatted["path"] = new JsonArray([.. path.Select(segment => segment is int index ? JsonValue.Create(index) : JsonValue.Create((string)segment))]);
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// Emulator-only endpoints that change data "elsewhere" and so raise subscription events, for tests in other processes:
/// <c>POST /_emulator/databases/{databaseId}/rows</c> and <c>POST /_emulator/tables/{tableId}/records/{recordId}</c>,
/// each with an optional body <c>{"values": {"&lt;fieldId&gt;": &lt;any JSON&gt;}}</c>. They are mapped in the admin group
/// (<see cref="AdminEndpoints"/>): loopback callers, loopback <c>Host</c> and <c>Origin</c>, JSON bodies within the size cap.
/// </summary>
internal static class EventEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, PitchlyEmulator emulator)
    {
        endpoints.MapPost("/databases/{databaseId}/rows", async (string databaseId, HttpContext context) =>
        {
            var values = await ReadValuesAsync(context, emulator);
            if (values.Refusal is { } refusal)
            {
                return refusal;
            }

            if (values.Error is { } error)
            {
                return Problem(error);
            }

            try
            {
                return Results.Json(new { rowId = emulator.InsertRow(databaseId, values.Values) }, statusCode: StatusCodes.Status201Created);
            }
            catch (ArgumentException exception)
            {
                return Problem(exception.Message);
            }
        });

        endpoints.MapPost("/tables/{tableId}/records/{recordId}", async (string tableId, string recordId, HttpContext context) =>
        {
            var values = await ReadValuesAsync(context, emulator);
            if (values.Refusal is { } refusal)
            {
                return refusal;
            }

            if (values.Error is { } error)
            {
                return Problem(error);
            }

            try
            {
                emulator.UpdateRecord(tableId, recordId, values.Values ?? new Dictionary<string, JsonNode?>());
                return Results.NoContent();
            }
            catch (ArgumentException exception)
            {
                return Problem(exception.Message);
            }
        });
    }

    private static async Task<(IReadOnlyDictionary<string, JsonNode?>? Values, string? Error, IResult? Refusal)> ReadValuesAsync(HttpContext context, PitchlyEmulator emulator)
    {
        var (text, tooLarge) = await AdminEndpoints.ReadBodyAsync(context, emulator);
        if (tooLarge is not null)
        {
            return (null, null, tooLarge);
        }

        if (text.Length == 0)
        {
            return (null, null, null);
        }

        JsonNode? body;
        try
        {
            body = JsonNode.Parse(text.Span);
        }
        catch (JsonException exception)
        {
            return (null, $"The body is not JSON: {exception.Message}", null);
        }

        if (body is null)
        {
            return (null, null, null);
        }

        if (body is not JsonObject { } root || root["values"] is not (JsonObject or null))
        {
            return (null, "Post {\"values\": {\"<fieldId>\": <value>, …}}.", null);
        }

        return (root["values"] is JsonObject values ? values.ToDictionary(p => p.Key, p => p.Value?.DeepClone()) : null, null, null);
    }

    private static IResult Problem(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}

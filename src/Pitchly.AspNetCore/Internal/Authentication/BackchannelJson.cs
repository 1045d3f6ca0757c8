using System.Text.Json;
using Microsoft.AspNetCore.Authentication;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Reads a JSON object from one of Pitchly's endpoints defensively: bounded in size, and with a failure that names
/// the problem (HTML error page, empty body, invalid JSON) without repeating the body, which may hold tokens.
/// </summary>
internal static class BackchannelJson
{
    public static async Task<JsonDocument> ReadObjectAsync(HttpResponseMessage response, string endpoint, int maxBytes, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var bytes = await BoundedBody.ReadAsync(response.Content, maxBytes, cancellationToken);
        if (bytes is null)
        {
            var declared = response.Content.Headers.ContentLength;
            throw new AuthenticationFailureException(declared > maxBytes
                ? $"{endpoint} answered with {declared} bytes (status {status}), more than the {maxBytes} accepted."
                : $"{endpoint} answered with more than the {maxBytes} bytes accepted (status {status}).");
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException)
        {
            throw new AuthenticationFailureException(DescribeNonJson(endpoint, status, mediaType, bytes));
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new AuthenticationFailureException($"{endpoint} answered with a JSON {kind} instead of a JSON object (status {status}).");
        }

        return document;
    }

    private static string DescribeNonJson(string endpoint, int status, string? mediaType, ReadOnlySpan<byte> body)
    {
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty)
        {
            return $"{endpoint} answered with an empty body (status {status}) instead of JSON.";
        }

        if (trimmed[0] == (byte)'<' || (mediaType is not null && mediaType.Contains("html", StringComparison.OrdinalIgnoreCase)))
        {
            return $"{endpoint} answered with HTML (status {status}) instead of JSON. Check the endpoint URL and whether a proxy answered instead of Pitchly.";
        }

        return $"{endpoint} answered with content that is not valid JSON (status {status}, content type {mediaType ?? "none"}).";
    }
}

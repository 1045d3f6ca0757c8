using System.Text.Json;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Reads the <c>error</c> member of a token endpoint answer safely: it is repeated in messages, logs and metric tags,
/// so anything that is not an RFC 6749 error code (printable ASCII, short) is not repeated as sent.
/// </summary>
internal static class OAuthErrorCode
{
    public const string Unrecognized = "unrecognized";

    // The codes of RFC 6749 §5.2 and RFC 8693: the only values a metric tag takes, so its cardinality stays bounded.
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
        "invalid_scope", "invalid_target", "server_error", "temporarily_unavailable",
    };

    /// <summary>The error code, or <see cref="Unrecognized"/> when the member is not a well-formed code.</summary>
    public static string Read(JsonElement error)
        => error.ValueKind == JsonValueKind.String && IsWellFormed(error.GetString()) ? error.GetString()! : Unrecognized;

    /// <summary>The code when it is a standard one, otherwise <c>other</c>: for metric tags.</summary>
    public static string ForMetric(string code) => Known.Contains(code) ? code : "other";

    // RFC 6749 §5.2 limits error codes to printable ASCII without quote or backslash.
    private static bool IsWellFormed(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 64)
        {
            return false;
        }

        foreach (var character in value)
        {
            if (character is < '\x20' or > '\x7E' or '"' or '\\')
            {
                return false;
            }
        }

        return true;
    }
}

using System.Text.Json;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>The identity query Pitchly's own login integration uses, and safe reads of its answer.</summary>
internal static class PitchlyIdentityJson
{
    public const string Query = "{ organization { id } viewer { person { id name email image } } }";

    /// <summary>Reads a string at <paramref name="path"/>; <see langword="null"/> when any step is missing, null or not the expected kind.</summary>
    public static string? GetString(JsonElement element, params ReadOnlySpan<string> path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }
}

using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pitchly.AspNetCore.Emulator.Internal;

internal static class EmulatorJson
{
    /// <summary>Readable JSON for API responses (never embedded in HTML): quotes and angle brackets stay as they are.</summary>
    public static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>Reads a whole request body up to <see cref="PitchlyEmulatorOptions.MaxRequestBodySize"/>, whatever the server.</summary>
internal static class RequestBody
{
    /// <summary>Reads the body; <see langword="null"/> when it is longer than <paramref name="limit"/> bytes.</summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(context.Request.ContentLength ?? 4096, limit) + 1);
        try
        {
            while (true)
            {
                var read = await context.Request.Body.ReadAsync(buffer.GetMemory(4096), context.RequestAborted);
                if (read == 0)
                {
                    return buffer.WrittenMemory;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    return null;
                }
            }
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The server's own limit (set by EndpointGuard) met first.
            return null;
        }
    }

    /// <summary>The 413 answer, naming the limit, in the emulator's <c>{"error": …}</c> shape.</summary>
    public static IResult TooLarge(PitchlyEmulator emulator)
    {
        var limit = emulator.Options.MaxRequestBodySize;
        emulator.Logger.RequestBodyTooLarge(limit);
        return Results.Json(
            new Dictionary<string, string>
            {
                ["error"] = $"The request body is larger than {limit} bytes ({PitchlyEmulatorDefaults.ConfigurationSection}:{nameof(PitchlyEmulatorOptions.MaxRequestBodySize)}).",
            },
            statusCode: StatusCodes.Status413PayloadTooLarge);
    }
}

using System.Buffers;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Reads a whole body only when it fits a cap, so an oversized answer is refused rather than buffered: a declared
/// length over the cap is refused before anything is read, and whatever the length says, at most one byte past the
/// cap is read. Pooled buffers are cleared on return because these bodies carry tokens and personal data.
/// </summary>
internal static class BoundedBody
{
    private const int InitialBufferSize = 16 * 1024;

    /// <summary>Reads <paramref name="content"/>, or returns <see langword="null"/> when it holds more than <paramref name="maxBytes"/> bytes.</summary>
    public static async ValueTask<byte[]?> ReadAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        var declaredLength = content.Headers.ContentLength;
        if (declaredLength > maxBytes)
        {
            return null;
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        return await ReadAsync(stream, declaredLength, maxBytes, cancellationToken);
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end, or returns <see langword="null"/> when it holds more than
    /// <paramref name="maxBytes"/> bytes or <paramref name="declaredLength"/> says it does.
    /// </summary>
    public static async ValueTask<byte[]?> ReadAsync(Stream stream, long? declaredLength, int maxBytes, CancellationToken cancellationToken)
    {
        if (declaredLength > maxBytes)
        {
            return null;
        }

        // One byte past the cap tells a body of exactly the cap from a larger one.
        var limit = (int)Math.Min(maxBytes + 1L, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Min(declaredLength ?? InitialBufferSize, maxBytes) + 1L, limit));
        try
        {
            var length = 0;
            while (length < limit)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, limit));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit) - length), cancellationToken);
                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }

                length += read;
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }
}

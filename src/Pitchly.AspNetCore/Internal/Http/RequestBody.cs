using System.Buffers;
using System.Net.Http.Headers;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// A request body read once before the first send, so the request can be sent again byte for byte (or with a new
/// token variable) after a refresh. Bodies over the cap are not kept: the first send streams them and no replay is possible.
/// </summary>
internal sealed class RequestBody
{
    private static readonly RequestBody None = new(null, null, canReplay: true);

    private readonly byte[]? _bytes;
    private readonly KeyValuePair<string, IEnumerable<string>>[]? _headers;

    private RequestBody(byte[]? bytes, KeyValuePair<string, IEnumerable<string>>[]? headers, bool canReplay)
    {
        _bytes = bytes;
        _headers = headers;
        CanReplay = canReplay;
    }

    /// <summary>Gets whether the request can be sent again.</summary>
    public bool CanReplay { get; }

    /// <summary>Gets whether the body was kept and is JSON, so a GraphQL variable can be written into it.</summary>
    public bool IsJson => _bytes is not null && IsJsonMediaType(_headers);

    /// <summary>Gets the kept body; empty when none was kept.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    public static async ValueTask<RequestBody> CaptureAsync(HttpRequestMessage request, int cap, CancellationToken cancellationToken)
    {
        var content = request.Content;
        if (content is null)
        {
            return None;
        }

        var headers = content.Headers.Where(static header => !string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).ToArray();
        if (content.Headers.ContentLength > cap)
        {
            return new RequestBody(null, headers, canReplay: false);
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(content.Headers.ContentLength ?? 4096, cap) + 1);
        var length = 0;
        while (true)
        {
            if (length > cap)
            {
                // Too large to keep: send what was read followed by the rest, once.
                request.Content = Copy(new StreamContent(new PrefixedStream(buffer, length, stream, content)), headers);
                return new RequestBody(null, headers, canReplay: false);
            }

            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, cap + 1L));
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                buffer = larger;
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        var bytes = buffer.AsSpan(0, length).ToArray();
        ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        content.Dispose();
        return new RequestBody(bytes, headers, canReplay: true);
    }

    /// <summary>Gives the request a fresh copy of the kept body, optionally with a different payload.</summary>
    public void Apply(HttpRequestMessage request, byte[]? replacement = null)
    {
        if (_bytes is not null)
        {
            request.Content = Copy(new ByteArrayContent(replacement ?? _bytes), _headers!);
        }
    }

    public static bool IsJsonMediaType(IEnumerable<KeyValuePair<string, IEnumerable<string>>>? headers)
    {
        var contentType = headers?.FirstOrDefault(static header => string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        return contentType is not null
            && MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            && parsed.MediaType is { } mediaType
            && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    private static HttpContent Copy(HttpContent target, KeyValuePair<string, IEnumerable<string>>[] headers)
    {
        foreach (var header in headers)
        {
            target.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return target;
    }
}

using System.Buffers;
using System.Net.Http.Headers;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// A request body read once before the first send, so the request can be sent again byte for byte (or with a new
/// token variable) after a refresh. Bodies over the cap are not kept: the first send streams them and no replay is possible.
/// A body that is not rewritten and whose content already holds its bytes in memory is not read at all until a replay
/// needs it (see <see cref="CaptureAsync(HttpRequestMessage, int, bool, CancellationToken)"/>).
/// </summary>
internal sealed class RequestBody
{
    private static readonly RequestBody None = new(null, [], isJsonContentType: false, canReplay: true);

    // In-memory content sent as it is: nothing is read, measured or allocated for it until a replay needs it.
    private static readonly RequestBody SentAsItIs = new();

    private readonly byte[]? _bytes;
    private readonly KeyValuePair<string, IEnumerable<string>>[] _headers;

    // Set instead of _bytes for in-memory content sent as it is: the caller's content (which the handler keeps) is
    // read into a kept copy before a replay.
    private readonly bool _sentAsItIs;

    private RequestBody(byte[]? bytes, KeyValuePair<string, IEnumerable<string>>[] headers, bool isJsonContentType, bool canReplay)
    {
        _bytes = bytes;
        _headers = headers;
        IsJsonContentType = isJsonContentType;
        CanReplay = canReplay;
    }

    private RequestBody()
    {
        _headers = [];
        _sentAsItIs = true;
        CanReplay = true;
    }

    /// <summary>Gets whether the request can be sent again.</summary>
    public bool CanReplay { get; }

    /// <summary>Gets whether the body's Content-Type is JSON (read once, whether or not the body was kept).</summary>
    public bool IsJsonContentType { get; }

    /// <summary>Gets whether the body was kept and is JSON, so a GraphQL variable can be written into it.</summary>
    public bool IsJson => _bytes is not null && IsJsonContentType;

    /// <summary>Gets the kept body; empty when none was kept.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>
    /// Captures the body of <paramref name="request"/>. When its bytes are not needed before a replay
    /// (<paramref name="bytesNeeded"/> false: the token goes in the header only) and its content is one HttpClient can
    /// send again as it is, with its bytes already in memory (<see cref="ByteArrayContent"/>, <see cref="StringContent"/>,
    /// <see cref="FormUrlEncodedContent"/>, <see cref="ReadOnlyMemoryContent"/>, exactly those types), nothing is read,
    /// measured or allocated: the content is sent itself, and the caller's content (which the handler keeps) is checked
    /// against <paramref name="cap"/> (<see cref="CanReplayWith"/>) and read into a kept copy (<see cref="KeepForReplayAsync"/>)
    /// only when a replay needs it. Otherwise the body is read as by <see cref="CaptureAsync(HttpRequestMessage, int, CancellationToken)"/>.
    /// </summary>
    public static ValueTask<RequestBody> CaptureAsync(HttpRequestMessage request, int cap, bool bytesNeeded, CancellationToken cancellationToken)
    {
        var content = request.Content;
        if (!bytesNeeded && content is not null && IsInMemory(content))
        {
            return new ValueTask<RequestBody>(SentAsItIs);
        }

        return CaptureAsync(request, cap, cancellationToken);
    }

    /// <summary>
    /// What <see cref="CaptureAsync(HttpRequestMessage, int, bool, CancellationToken)"/> gives at once, without reading,
    /// for a request whose bytes are not needed before a replay: no body, or in-memory content sent as it is.
    /// </summary>
    public static bool TrySendAsItIs(HttpContent? content, out RequestBody body)
    {
        body = content is null ? None : IsInMemory(content) ? SentAsItIs : null!;
        return body is not null;
    }

    /// <summary>
    /// Gets whether the request can be sent again: <see cref="CanReplay"/>, and for a body sent as it is, whether
    /// <paramref name="original"/> (the caller's content) is within <paramref name="cap"/> bytes.
    /// </summary>
    public bool CanReplayWith(HttpContent? original, int cap) =>
        _sentAsItIs ? original is null || original.Headers.ContentLength <= cap : CanReplay;

    /// <summary>Reads the body of <paramref name="request"/> into a kept copy (up to <paramref name="cap"/> bytes).</summary>
    public static async ValueTask<RequestBody> CaptureAsync(HttpRequestMessage request, int cap, CancellationToken cancellationToken)
    {
        var content = request.Content;
        if (content is null)
        {
            return None;
        }

        var headers = content.Headers.Where(static header => !string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).ToArray();
        var isJson = IsJsonMediaType(content.Headers);
        var declaredLength = content.Headers.ContentLength;
        if (declaredLength > cap)
        {
            return new RequestBody(null, headers, isJson, canReplay: false);
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken);
        byte[] buffer;
        int length;
        if (declaredLength is { } size)
        {
            // The usual case (ByteArrayContent, StringContent, JsonContent once serialised): read straight into an array
            // of the declared size, with nothing rented or cleared, and make sure the stream ends there.
            var exact = new byte[size];
            length = await stream.ReadAtLeastAsync(exact, exact.Length, throwOnEndOfStream: false, cancellationToken);
            if (length < exact.Length)
            {
                content.Dispose();
                return new RequestBody(exact.AsSpan(0, length).ToArray(), headers, isJson, canReplay: true);
            }

            var probe = ArrayPool<byte>.Shared.Rent(1);
            var extra = await stream.ReadAsync(probe.AsMemory(0, 1), cancellationToken);
            if (extra == 0)
            {
                ArrayPool<byte>.Shared.Return(probe);
                content.Dispose();
                return new RequestBody(exact, headers, isJson, canReplay: true);
            }

            // Longer than it declared: carry on as for a body of unknown length.
            buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(2L * size, 4096), cap + 1L));
            exact.CopyTo(buffer, 0);
            buffer[length++] = probe[0];
            ArrayPool<byte>.Shared.Return(probe, clearArray: true);
        }
        else
        {
            buffer = ArrayPool<byte>.Shared.Rent(Math.Min(4096, cap) + 1);
            length = 0;
        }

        while (true)
        {
            if (length > cap)
            {
                // Too large to keep: send what was read followed by the rest, once. The stream owns the buffer now.
                request.Content = Copy(new StreamContent(new PrefixedStream(ArrayPool<byte>.Shared, buffer, length, stream, content)), headers);
                return new RequestBody(null, headers, isJson, canReplay: false);
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
        return new RequestBody(bytes, headers, isJson, canReplay: true);
    }

    /// <summary>
    /// Before a replay: a body sent as its own content is read into a kept copy (the content is disposed, as a captured
    /// one is), so every replay gets fresh content whatever the first send did with the original. Other bodies are returned as they are.
    /// </summary>
    public async ValueTask<RequestBody> KeepForReplayAsync(HttpContent? original, CancellationToken cancellationToken)
    {
        if (!_sentAsItIs)
        {
            return this;
        }

        if (original is null)
        {
            return None;
        }

        // Serialises the in-memory bytes again; does not depend on any stream the first send may have read.
        var bytes = await original.ReadAsByteArrayAsync(cancellationToken);
        var headers = original.Headers.Where(static header => !string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).ToArray();
        var isJson = IsJsonMediaType(original.Headers);
        original.Dispose();
        return new RequestBody(bytes, headers, isJson, canReplay: true);
    }

    /// <summary>Gives the request a fresh copy of the kept body, with <paramref name="splice"/> applied if given.</summary>
    public void Apply(HttpRequestMessage request, GraphQLBodyWriter.Splice? splice = null)
    {
        if (_sentAsItIs)
        {
            // First send of in-memory content: the caller's own content, unchanged (it is still the request's).
            return;
        }

        if (_bytes is not null)
        {
            request.Content = Copy(splice is { } change ? new SplicedContent(_bytes, change) : new ByteArrayContent(_bytes), _headers);
        }
    }

    public static bool IsJsonMediaType(HttpContentHeaders? headers)
        => headers?.ContentType?.MediaType is { } mediaType
            && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    // Content whose bytes are in memory and that serialises them again on every send; subclasses could do anything.
    private static bool IsInMemory(HttpContent content)
    {
        var type = content.GetType();
        return type == typeof(ByteArrayContent) || type == typeof(StringContent) || type == typeof(FormUrlEncodedContent) || type == typeof(ReadOnlyMemoryContent);
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

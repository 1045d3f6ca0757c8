// Kept beside the emulator: a benchmark measures the package's own per-call cost, so the network and any server work are replaced by bytes from memory.
using System.Net;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// Stands in for the network: answers every request at once with a canned body streamed from memory, as
/// SocketsHttpHandler would hand it on (unbuffered, non-seekable, <c>application/json</c>).
/// </summary>
internal sealed class FakePitchlyHandler : HttpMessageHandler
{
    public byte[] ResponseBody { get; set; } = CannedPitchly.DataFirstResponse;

    public int Requests { get; private set; }

    /// <summary>Gets the stream of the last answer, to see how much of it was read before the caller got it.</summary>
    public ResponseStream? LastResponse { get; private set; }

    /// <summary>Gets a copy of the last request as sent, for the set-up checks.</summary>
    public (string? Authorization, byte[]? Body) LastRequest { get; private set; }

    public bool CaptureRequests { get; set; }

    /// <summary>Gets or sets how many of the next requests are answered 503 Service Unavailable (for the set-up checks).</summary>
    public int UnavailableAnswers { get; set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests++;
        if (CaptureRequests)
        {
            LastRequest = (request.Headers.Authorization?.ToString(), request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken));
        }

        if (UnavailableAnswers > 0)
        {
            UnavailableAnswers--;
            return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request };
        }

        LastResponse = new ResponseStream(ResponseBody);
        var content = new StreamContent(LastResponse);

        // As SocketsHttpHandler stores a received header: the text as it came, parsed only if someone asks for it.
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
    }

    /// <summary>A forward-only view of a byte array that counts what was read, like a network stream.</summary>
    public sealed class ResponseStream(byte[] body) : Stream
    {
        public int BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, body.Length - BytesRead);
            body.AsSpan(BytesRead, count).CopyTo(buffer);
            BytesRead += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

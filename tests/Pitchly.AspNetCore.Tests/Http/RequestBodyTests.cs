namespace Pitchly.AspNetCore.Tests.Http;

public sealed class RequestBodyTests
{
    private const int Cap = 64;

    [Theory]
    [InlineData(5)]
    [InlineData(40)]
    [InlineData(null)]
    public async Task A_body_is_kept_as_its_stream_yields_it_whatever_length_it_declares(int? declaredLength)
    {
        var bytes = Encoding.UTF8.GetBytes("""{"query":"{ q }","variables":{}}""");
        using var request = Post(new RawContent(bytes, declaredLength));

        var body = await RequestBody.CaptureAsync(request, Cap, TestContext.Current.CancellationToken);
        body.Apply(request);

        Assert.True(body.CanReplay);
        Assert.True(body.IsJson);
        Assert.Equal(bytes, body.Bytes.ToArray());
        Assert.Equal(bytes, await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal(bytes.Length, request.Content.Headers.ContentLength);
        Assert.Equal("application/json; charset=utf-8", request.Content.Headers.ContentType!.ToString());
    }

    [Theory]
    [InlineData(10)]
    [InlineData(null)]
    public async Task A_body_found_over_the_cap_while_reading_is_sent_whole_once_and_not_kept(int? declaredLength)
    {
        var bytes = Encoding.UTF8.GetBytes("{\"query\":\"{ q }\",\"variables\":{\"text\":\"" + new string('x', 200) + "\"}}");
        using var request = Post(new RawContent(bytes, declaredLength));

        var body = await RequestBody.CaptureAsync(request, Cap, TestContext.Current.CancellationToken);

        Assert.False(body.CanReplay);
        Assert.False(body.IsJson);
        Assert.True(body.IsJsonContentType);
        Assert.Equal(bytes, await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal("application/json; charset=utf-8", request.Content.Headers.ContentType!.ToString());
    }

    private static HttpRequestMessage Post(HttpContent content) => new(HttpMethod.Post, "http://pitchly.test/graphql") { Content = content };

    /// <summary>Content that streams its bytes without seeking and declares whatever length it is told to.</summary>
    private sealed class RawContent : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly int? _declaredLength;

        public RawContent(byte[] bytes, int? declaredLength)
        {
            _bytes = bytes;
            _declaredLength = declaredLength;
            Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new TrickleStream(_bytes));

        protected override bool TryComputeLength(out long length)
        {
            length = _declaredLength ?? 0;
            return _declaredLength is not null;
        }
    }

    /// <summary>Yields at most seven bytes a read, like a body arriving in pieces.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 7)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}

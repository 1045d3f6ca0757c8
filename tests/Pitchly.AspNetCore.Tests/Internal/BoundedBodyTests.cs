namespace Pitchly.AspNetCore.Tests.Internal;

public sealed class BoundedBodyTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_body_of_exactly_the_cap_is_returned_whole()
    {
        var body = Bytes(1024);

        var read = await BoundedBody.ReadAsync(new ByteArrayContent(body), 1024, Cancellation);

        Assert.Equal(body, read);
    }

    [Fact]
    public async Task A_body_one_byte_over_the_cap_is_refused_without_a_declared_length()
    {
        var stream = new TrickleStream(Bytes(1025), chunkSize: 100);

        var read = await BoundedBody.ReadAsync(stream, declaredLength: null, maxBytes: 1024, Cancellation);

        Assert.Null(read);
        Assert.Equal(1025, stream.Delivered);
    }

    [Fact]
    public async Task A_declared_length_over_the_cap_is_refused_before_the_body_is_read()
    {
        var read = await BoundedBody.ReadAsync(new UnreadableContent(1025), 1024, Cancellation);

        Assert.Null(read);
    }

    [Fact]
    public async Task A_declared_length_under_the_truth_does_not_make_the_reader_go_past_the_cap()
    {
        var endless = new TrickleStream(data: null, chunkSize: 4096);

        var read = await BoundedBody.ReadAsync(endless, declaredLength: 10, maxBytes: 50_000, Cancellation);

        Assert.Null(read);
        Assert.Equal(50_001, endless.Delivered);
    }

    [Fact]
    public async Task A_content_length_header_under_the_truth_is_not_trusted()
    {
        var content = new StreamContent(new TrickleStream(Bytes(2000), chunkSize: 300));
        content.Headers.ContentLength = 100;

        var read = await BoundedBody.ReadAsync(content, 1024, Cancellation);

        Assert.Null(read);
    }

    [Fact]
    public async Task A_declared_length_over_the_truth_but_within_the_cap_yields_the_bytes_actually_sent()
    {
        var body = Bytes(300);

        var read = await BoundedBody.ReadAsync(new TrickleStream(body, chunkSize: 64), declaredLength: 1000, maxBytes: 1024, Cancellation);

        Assert.Equal(body, read);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(null)]
    public async Task An_empty_body_is_an_empty_array(long? declaredLength)
    {
        var read = await BoundedBody.ReadAsync(new MemoryStream(), declaredLength, 1024, Cancellation);

        Assert.NotNull(read);
        Assert.Empty(read);
    }

    [Fact]
    public async Task A_body_trickling_in_small_chunks_past_the_first_buffer_is_read_whole()
    {
        var body = Bytes(70_000);

        var read = await BoundedBody.ReadAsync(new TrickleStream(body, chunkSize: 997), declaredLength: null, maxBytes: 100_000, Cancellation);

        Assert.Equal(body, read);
    }

    [Theory]
    [InlineData(5000, true)]
    [InlineData(4999, false)]
    public async Task A_chunked_answer_from_Kestrel_is_read_whole_only_within_the_cap(int maxBytes, bool fits)
    {
        var body = Bytes(5000);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/", async context =>
        {
            for (var offset = 0; offset < body.Length; offset += 512)
            {
                await context.Response.Body.WriteAsync(body.AsMemory(offset, Math.Min(512, body.Length - offset)), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        });
        await app.StartAsync(Cancellation);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var response = await client.GetAsync("/", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var read = await BoundedBody.ReadAsync(response.Content, maxBytes, Cancellation);

        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Equal(fits ? body : null, read);
    }

    [Fact]
    public async Task Cancellation_stops_a_read_that_is_waiting_for_more_bytes()
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var stalled = new StallingStream(Bytes(100));
        var reading = BoundedBody.ReadAsync(stalled, declaredLength: null, maxBytes: 1024, cancellation.Token).AsTask();

        await stalled.Stalled.WaitAsync(Cancellation);
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 31);
        }

        return bytes;
    }

    /// <summary>Hands out its bytes (or endless bytes when <c>data</c> is null) a few at a time, yielding between reads, and counts what it delivered.</summary>
    private sealed class TrickleStream(byte[]? data, int chunkSize) : AsyncReadOnlyStream
    {
        public long Delivered { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            var available = data is null ? int.MaxValue : data.Length - Delivered;
            var count = (int)Math.Min(Math.Min(chunkSize, buffer.Length), available);
            if (data is null)
            {
                buffer.Span[..count].Fill((byte)'a');
            }
            else
            {
                data.AsSpan((int)Delivered, count).CopyTo(buffer.Span);
            }

            Delivered += count;
            return count;
        }
    }

    /// <summary>Delivers its first bytes, then waits for more that never come until the read is cancelled.</summary>
    private sealed class StallingStream(byte[] first) : AsyncReadOnlyStream
    {
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _delivered;

        public Task Stalled => _stalled.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_delivered)
            {
                _delivered = true;
                first.CopyTo(buffer);
                return first.Length;
            }

            _stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    /// <summary>A forward-only stream whose reads all go through <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    private abstract class AsyncReadOnlyStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

using System.Buffers;

namespace Pitchly.AspNetCore.Tests.Http;

public sealed class PrefixedStreamTests
{
    [Fact]
    public async Task The_prefix_then_the_rest_are_read_and_the_prefix_goes_back_cleared_only_on_dispose()
    {
        var (pool, prefix, stream, _, _) = Create("{\"data\":", "{\"x\":1}}");

        string text;
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.Empty(pool.Returned);
        }

        Assert.Equal("{\"data\":{\"x\":1}}", text);
        Assert.Same(prefix, Assert.Single(pool.Returned));
        Assert.All(prefix, value => Assert.Equal(0, value));
    }

    [Fact]
    public async Task The_pooled_prefix_goes_back_once_however_often_the_stream_is_disposed()
    {
        var (pool, prefix, stream, rest, owner) = Create("{\"data\":", "{}}");
        var firstByte = new byte[1];
        Assert.Equal(1, stream.Read(firstByte));

        stream.Dispose();
        stream.Dispose();
        await stream.DisposeAsync();

        Assert.Same(prefix, Assert.Single(pool.Returned));
        Assert.False(rest.CanRead);
        Assert.Equal(1, owner.Disposals);
    }

    [Fact]
    public void A_response_never_read_returns_its_prefix_when_disposed_even_twice()
    {
        var (pool, prefix, stream, _, _) = Create("{\"data\":", "{}}");
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(stream) };

        response.Dispose();
        response.Dispose();

        Assert.Same(prefix, Assert.Single(pool.Returned));
    }

    [Fact]
    public async Task Reading_after_dispose_throws_rather_than_reading_a_returned_buffer()
    {
        var (_, _, stream, _, _) = Create("{\"data\":", "{}}");
        stream.Dispose();

        Assert.False(stream.CanRead);
        Assert.Throws<ObjectDisposedException>(() => stream.Read(new byte[4]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadAtLeastAsync(new byte[4], 4, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_prefix_of_its_own_without_a_pool_is_read_first_then_cleared_on_dispose()
    {
        // The handler's first read of an answer that cannot seek: a small array, no pool.
        var prefix = new byte[32];
        var length = Encoding.UTF8.GetBytes("{\"data\":{\"x\"", prefix);
        var rest = new MemoryStream(Encoding.UTF8.GetBytes(":1}}"));
        var owner = new CountingDisposable();
        var stream = new PrefixedStream(pool: null, prefix, length, rest, owner);

        string text;
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
        }

        stream.Dispose();

        Assert.Equal("{\"data\":{\"x\":1}}", text);
        Assert.All(prefix, value => Assert.Equal(0, value));
        Assert.Equal(1, owner.Disposals);
        Assert.Throws<ObjectDisposedException>(() => stream.Read(new byte[4]));
    }

    private static (CountingPool Pool, byte[] Prefix, PrefixedStream Stream, MemoryStream Source, CountingDisposable Owner) Create(string prefix, string rest)
    {
        var pool = new CountingPool();
        var buffer = pool.Rent(4096);
        var length = Encoding.UTF8.GetBytes(prefix, buffer);
        var restStream = new MemoryStream(Encoding.UTF8.GetBytes(rest));
        var owner = new CountingDisposable();
        return (pool, buffer, new PrefixedStream(pool, buffer, length, restStream, owner), restStream, owner);
    }

    /// <summary>A pool that records every return and refuses arrays it did not rent or already got back.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private readonly HashSet<byte[]> _rented = [];

        public List<byte[]> Returned { get; } = [];

        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength];
            _rented.Add(array);
            return array;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Assert.True(_rented.Remove(array), "An array was returned that is not rented.");
            Returned.Add(array);
        }
    }

    private sealed class CountingDisposable : IDisposable
    {
        public int Disposals { get; private set; }

        public void Dispose() => Disposals++;
    }
}

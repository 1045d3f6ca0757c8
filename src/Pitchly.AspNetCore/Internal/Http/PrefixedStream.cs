using System.Buffers;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// A read-only stream that yields bytes already read from a stream, then the rest of that stream: what lets the
/// handler look at the start of a body and still hand the whole body on without buffering it.
/// </summary>
/// <remarks>
/// The prefix is an array that this stream owns from construction: a pooled one goes back to its pool once, on the first
/// <see cref="Stream.Dispose()"/>, cleared of the bytes it held, after which every read throws (an array of its own,
/// without a pool, is cleared likewise). A stream that is never disposed leaves its array to the garbage collector,
/// which the pool tolerates.
/// </remarks>
internal sealed class PrefixedStream : Stream
{
    private readonly ArrayPool<byte>? _pool;
    private readonly int _prefixLength;
    private readonly Stream _rest;
    private readonly IDisposable? _owner;
    private byte[]? _prefix;
    private int _prefixPosition;

    /// <param name="pool">The pool <paramref name="pooledPrefix"/> was rented from; <see langword="null"/> when the array is this stream's own.</param>
    /// <param name="pooledPrefix">The bytes already read; ownership passes to this stream.</param>
    /// <param name="prefixLength">How many bytes of <paramref name="pooledPrefix"/> were read, from its start; only those are cleared on return.</param>
    /// <param name="rest">The stream the prefix was read from.</param>
    /// <param name="owner">Disposed with this stream (the content <paramref name="rest"/> came from).</param>
    public PrefixedStream(ArrayPool<byte>? pool, byte[] pooledPrefix, int prefixLength, Stream rest, IDisposable? owner)
    {
        _pool = pool;
        _prefix = pooledPrefix;
        _prefixLength = prefixLength;
        _rest = rest;
        _owner = owner;
    }

    public override bool CanRead => _prefix is not null;

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
        var fromPrefix = ReadPrefix(buffer);
        return fromPrefix > 0 || buffer.IsEmpty ? fromPrefix : _rest.Read(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var fromPrefix = ReadPrefix(buffer.Span);
        return fromPrefix > 0 || buffer.IsEmpty ? ValueTask.FromResult(fromPrefix) : _rest.ReadAsync(buffer, cancellationToken);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // Taken out first, so no later read can see the array once someone else may have rented it.
        if (disposing && Interlocked.Exchange(ref _prefix, null) is { } prefix)
        {
            // Cleared: the prefix holds request or response bytes (personal data, possibly tokens). Only the bytes
            // written are (the array is filled from its start); clearing all 4 KB of a peek cost more than the peek.
            prefix.AsSpan(0, _prefixLength).Clear();
            _pool?.Return(prefix);
            _rest.Dispose();
            _owner?.Dispose();
        }

        base.Dispose(disposing);
    }

    private int ReadPrefix(Span<byte> buffer)
    {
        var prefix = _prefix;
        ObjectDisposedException.ThrowIf(prefix is null, this);
        var count = Math.Min(buffer.Length, _prefixLength - _prefixPosition);
        if (count <= 0)
        {
            return 0;
        }

        prefix.AsSpan(_prefixPosition, count).CopyTo(buffer);
        _prefixPosition += count;
        return count;
    }
}

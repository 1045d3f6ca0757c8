namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// A read-only stream that yields bytes already read from a stream, then the rest of that stream: what lets the
/// handler look at the start of a body and still hand the whole body on without buffering it.
/// </summary>
internal sealed class PrefixedStream : Stream
{
    private readonly byte[] _prefix;
    private readonly int _prefixLength;
    private readonly Stream _rest;
    private readonly IDisposable? _owner;
    private int _prefixPosition;

    public PrefixedStream(byte[] prefix, int prefixLength, Stream rest, IDisposable? owner)
    {
        _prefix = prefix;
        _prefixLength = prefixLength;
        _rest = rest;
        _owner = owner;
    }

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
        if (disposing)
        {
            _rest.Dispose();
            _owner?.Dispose();
        }

        base.Dispose(disposing);
    }

    private int ReadPrefix(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, _prefixLength - _prefixPosition);
        if (count <= 0)
        {
            return 0;
        }

        _prefix.AsSpan(_prefixPosition, count).CopyTo(buffer);
        _prefixPosition += count;
        return count;
    }
}

using System.Net;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// The content of a response whose first bytes the handler has read: a <see cref="PrefixedStream"/> handed to the
/// caller as it is. Behaves as <see cref="StreamContent"/> over a stream that cannot seek (one serialisation, no computed
/// length; disposing it disposes the stream), without the read-only wrapper StreamContent puts around it.
/// </summary>
internal sealed class PrefixedContent : HttpContent
{
    private readonly PrefixedStream _stream;
    private bool _consumed;

    public PrefixedContent(PrefixedStream stream)
    {
        _stream = stream;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Consume();
        return _stream.CopyToAsync(stream, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Consume();
        _stream.CopyTo(stream);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(_stream);

    protected override Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) => Task.FromResult<Stream>(_stream);

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken) => _stream;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stream.Dispose();
        }

        base.Dispose(disposing);
    }

    // As StreamContent: a stream that cannot seek back is serialised once.
    private void Consume()
    {
        if (_consumed)
        {
            throw new InvalidOperationException("The stream was already consumed. It cannot be read again.");
        }

        _consumed = true;
    }
}

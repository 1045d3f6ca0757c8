using System.Net;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// A kept request body sent with one splice applied (a GraphQL variable written in), as three writes with a computed
/// Content-Length, so the body is never copied to make the change.
/// </summary>
internal sealed class SplicedContent : HttpContent
{
    private readonly byte[] _body;
    private readonly GraphQLBodyWriter.Splice _splice;

    public SplicedContent(byte[] body, GraphQLBodyWriter.Splice splice)
    {
        _body = body;
        _splice = splice;
    }

    private ReadOnlyMemory<byte> Before => _body.AsMemory(0, _splice.Offset);

    private ReadOnlyMemory<byte> After => _body.AsMemory(_splice.Offset + _splice.RemovedLength);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Before, cancellationToken);
        await stream.WriteAsync(_splice.Inserted, cancellationToken);
        await stream.WriteAsync(After, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        stream.Write(Before.Span);
        stream.Write(_splice.Inserted);
        stream.Write(After.Span);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length - _splice.RemovedLength + _splice.Inserted.Length;
        return true;
    }
}

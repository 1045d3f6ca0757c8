namespace Pitchly.AspNetCore.Tests.Internal;

/// <summary>Declares a length and fails if anything tries to read it.</summary>
internal sealed class UnreadableContent : HttpContent
{
    public UnreadableContent(long length) => Headers.ContentLength = length;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        throw new InvalidOperationException("The body must not be read.");

    protected override bool TryComputeLength(out long length)
    {
        length = Headers.ContentLength ?? 0;
        return true;
    }
}

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// The body of a request whose sender serialises the GraphQL operation itself (the typed GraphQL client): the bytes
/// written without a token, and how to write them again with one. The access-token handler recognises it by its type
/// and asks <see cref="WithAccessToken"/> for the body carrying each token it sends (<see langword="null"/> when the
/// token goes in the header only), instead of buffering the body and splicing the variable in.
/// </summary>
/// <remarks>Carried by the content rather than the request's options, so a request without it never creates any.</remarks>
internal sealed class GraphQLOperationContent : ByteArrayContent
{
    public GraphQLOperationContent(byte[] withoutToken, Func<string?, HttpContent> withAccessToken)
        : base(withoutToken)
    {
        WithAccessToken = withAccessToken;
    }

    /// <summary>Gets the factory of the body carrying a given token in the <c>accessToken</c> variable.</summary>
    public Func<string?, HttpContent> WithAccessToken { get; }
}

using System.Net;
using Pitchly.AspNetCore.Internal.Http;
using Pitchly.AspNetCore.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Internal.Replay;

/// <summary>
/// What counts as "Pitchly rejected the access token", the same for every caller: HTTP 401; or a GraphQL error whose
/// <c>extensions.code</c> (or legacy <c>data.error</c>) is one of the configured codes
/// (<see cref="PitchlyAccessTokenHandlerOptions.InvalidTokenErrorCodes"/>) in an answer that is neither a permission
/// error (403: a refresh would not change it) nor a server failure; on graphql-ws, a close with 4403 (or 4401).
/// </summary>
internal sealed class InvalidTokenRule
{
    private readonly ISet<string> _codes;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="codes">The GraphQL error codes that mean the token is invalid; read as they are when an answer is judged.</param>
    public InvalidTokenRule(ISet<string> codes) => _codes = codes;

    /// <summary>
    /// Gets whether any body can carry an invalid-token error: with no codes configured, only HTTP 401 counts, so an
    /// answer need not be read to be judged.
    /// </summary>
    public bool ReadsBodies => _codes.Count != 0;

    /// <summary>Tells whether the status alone says the token was rejected.</summary>
    public static bool IsInvalidTokenStatus(HttpStatusCode status) => status == HttpStatusCode.Unauthorized;

    /// <summary>Tells whether an answer with <paramref name="status"/> may carry an invalid-token error in its body.</summary>
    public static bool MayCarryInvalidTokenError(HttpStatusCode status) =>
        status != HttpStatusCode.Forbidden && (int)status < 500;

    /// <summary>Tells whether a graphql-ws close means the connection's token was rejected.</summary>
    public static bool IsInvalidTokenClose(int? closeStatus) =>
        closeStatus is GraphQLWsProtocol.CloseCode.Forbidden or GraphQLWsProtocol.CloseCode.Unauthorized;

    /// <summary>Judges a complete answer: its status and its whole JSON body.</summary>
    public bool IsInvalidToken(HttpStatusCode status, ReadOnlySpan<byte> body) =>
        IsInvalidTokenStatus(status)
        || (MayCarryInvalidTokenError(status) && PitchlyResponseClassifier.HasInvalidTokenError(body, _codes));
}

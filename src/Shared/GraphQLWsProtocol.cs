namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>
/// The names and numbers of graphql-ws (the <c>graphql-transport-ws</c> subprotocol of the <c>graphql-ws</c> library),
/// compiled into the package's client and the emulator's server as one linked source file, so both ends of the tests
/// speak from the same list. Internal in each assembly; no public API.
/// </summary>
internal static class GraphQLWsProtocol
{
    /// <summary>The WebSocket subprotocol both sides must agree on.</summary>
    public const string Subprotocol = "graphql-transport-ws";

    /// <summary>The <c>type</c> member of every message.</summary>
    public static class MessageType
    {
        public const string ConnectionInit = "connection_init";
        public const string ConnectionAck = "connection_ack";
        public const string Ping = "ping";
        public const string Pong = "pong";
        public const string Subscribe = "subscribe";
        public const string Next = "next";
        public const string Error = "error";
        public const string Complete = "complete";
    }

    /// <summary>The protocol's close codes (the 44xx range the library uses for its own closes).</summary>
    public static class CloseCode
    {
        /// <summary>An invalid message: not JSON, an unknown type, a malformed payload.</summary>
        public const int BadRequest = 4400;

        /// <summary>A <c>subscribe</c> before <c>connection_ack</c>; Pitchly also reads it as a token problem.</summary>
        public const int Unauthorized = 4401;

        /// <summary>The <c>connection_init</c> credentials were refused: Pitchly's invalid-token close.</summary>
        public const int Forbidden = 4403;

        /// <summary>The client did not offer <see cref="Subprotocol"/>.</summary>
        public const int SubprotocolNotAcceptable = 4406;

        /// <summary>No <c>connection_init</c> within the server's timeout.</summary>
        public const int ConnectionInitialisationTimeout = 4408;

        /// <summary>A <c>subscribe</c> with the id of an operation still running.</summary>
        public const int SubscriberAlreadyExists = 4409;

        /// <summary>A second <c>connection_init</c>.</summary>
        public const int TooManyInitialisationRequests = 4429;

        /// <summary>The server failed unexpectedly.</summary>
        public const int InternalServerError = 4500;
    }
}

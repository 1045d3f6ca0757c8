using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore.Emulator.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

/// <summary>
/// <c>/subscriptions</c>: GraphQL over WebSocket with the <c>graphql-transport-ws</c> subprotocol (the protocol of the
/// <c>graphql-ws</c> library), authenticated by <c>connectionParams.authorization</c>. See <see cref="GraphQLWsConnection"/>.
/// </summary>
internal sealed class SubscriptionsEndpoint(PitchlyEmulator emulator)
{
    private readonly CredentialAuthenticator _authenticator = new(emulator);

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(
                $"{PitchlyEmulatorDefaults.SubscriptionsPath} speaks GraphQL over WebSocket: open a WebSocket with the \"{GraphQLWsProtocol.Subprotocol}\" subprotocol.",
                context.RequestAborted);
            return;
        }

        var offered = context.WebSockets.WebSocketRequestedProtocols.Contains(GraphQLWsProtocol.Subprotocol, StringComparer.Ordinal);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(offered ? GraphQLWsProtocol.Subprotocol : null);
        using var connection = new GraphQLWsConnection(emulator, _authenticator, socket, context.RequestAborted);
        await connection.RunAsync(offered);
    }
}

using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Pitchly.AspNetCore.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>A bare <c>graphql-transport-ws</c> client on <see cref="ClientWebSocket"/>: sends and reads raw protocol messages.</summary>
public sealed class GraphQLWsTestClient : IAsyncDisposable
{
    /// <summary>How long to wait for a message or a close: generous, for a loaded machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly ClientWebSocket _socket;

    private GraphQLWsTestClient(ClientWebSocket socket) => _socket = socket;

    public WebSocket Socket => _socket;

    public static async Task<GraphQLWsTestClient> ConnectAsync(Uri baseAddress, string? subprotocol = GraphQLWsProtocol.Subprotocol)
    {
        var socket = new ClientWebSocket();
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        var uri = new UriBuilder(new Uri(baseAddress, PitchlyEmulatorDefaults.SubscriptionsPath)) { Scheme = "ws" }.Uri;
        await socket.ConnectAsync(uri, TestContext.Current.CancellationToken);
        return new GraphQLWsTestClient(socket);
    }

    /// <summary>Connects, sends <c>connection_init</c> with the token and waits for <c>connection_ack</c>.</summary>
    public static async Task<GraphQLWsTestClient> ConnectAndInitAsync(Uri baseAddress, string authorization)
    {
        var client = await ConnectAsync(baseAddress);
        await client.SendAsync(new JsonObject { ["type"] = GraphQLWsProtocol.MessageType.ConnectionInit, ["payload"] = new JsonObject { ["authorization"] = authorization } });
        var ack = await client.ReceiveAsync();
        Assert.Equal(GraphQLWsProtocol.MessageType.ConnectionAck, ack["type"]!.GetValue<string>());
        return client;
    }

    public Task SendAsync(JsonNode message) => SendTextAsync(message.ToJsonString());

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, TestContext.Current.CancellationToken);

    public Task SubscribeAsync(string id, string query, object? variables = null) =>
        SendAsync(new JsonObject
        {
            ["id"] = id,
            ["type"] = GraphQLWsProtocol.MessageType.Subscribe,
            ["payload"] = new JsonObject { ["query"] = query, ["variables"] = variables is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(variables) },
        });

    /// <summary>Reads the next message; fails if the server closes instead.</summary>
    public async Task<JsonObject> ReceiveAsync()
    {
        var (message, closeStatus, closeReason) = await ReceiveOrCloseAsync();
        return message ?? throw new Xunit.Sdk.XunitException($"Expected a message, the server closed with {closeStatus} \"{closeReason}\".");
    }

    /// <summary>Reads until the server closes (failing on any message in between) and returns the close code and reason.</summary>
    public async Task<(int Code, string? Reason)> ReceiveCloseAsync()
    {
        var (message, closeStatus, closeReason) = await ReceiveOrCloseAsync();
        Assert.True(message is null, $"Expected the server to close, it sent {message?.ToJsonString()}");
        return ((int)closeStatus!, closeReason);
    }

    public async Task<(JsonObject? Message, WebSocketCloseStatus? CloseStatus, string? CloseReason)> ReceiveOrCloseAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Patience);
        var buffer = new byte[64 * 1024];
        using var text = new MemoryStream();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }

                return (null, result.CloseStatus, result.CloseStatusDescription);
            }

            text.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (JsonNode.Parse(text.ToArray())!.AsObject(), null, null);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or WebSocketException)
            {
            }
        }

        _socket.Dispose();
    }
}

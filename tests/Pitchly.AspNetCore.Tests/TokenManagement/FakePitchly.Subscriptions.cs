// Kept beside the emulator: the subscription client tests drive graphql-transport-ws frame by frame (raw frames, pings, close codes, handshake status, operation errors), which the emulator does not expose.
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// A graphql-ws (graphql-transport-ws) endpoint at /subscriptions: checks the token of connection_init against the
/// live access tokens (closing with 4403 otherwise, as Pitchly does), acknowledges, records subscribe payloads, and
/// lets a test publish events, close, drop, complete or ping the open subscriptions.
/// </summary>
public sealed partial class FakePitchly
{
    public const string SubProtocol = "graphql-transport-ws";

    private readonly ConcurrentDictionary<FakeSubscriber, byte> _subscribers = new();
    private int _subscriptionConnections;
    private int _subscriptionAcks;
    private int _subscriptionRejections;
    private int _subscribes;
    private int _completesReceived;
    private int _normalClosesReceived;
    private int _pongsReceived;
    private int _eventsSent;

    public Uri SubscriptionEndpoint => new UriBuilder(BaseAddress) { Scheme = "ws", Path = "/subscriptions" }.Uri;

    public int SubscriptionConnections => Volatile.Read(ref _subscriptionConnections);

    public int SubscriptionAcks => Volatile.Read(ref _subscriptionAcks);

    public int SubscriptionRejections => Volatile.Read(ref _subscriptionRejections);

    public int Subscribes => Volatile.Read(ref _subscribes);

    public int CompletesReceived => Volatile.Read(ref _completesReceived);

    public int NormalClosesReceived => Volatile.Read(ref _normalClosesReceived);

    public int PongsReceived => Volatile.Read(ref _pongsReceived);

    public int EventsSent => Volatile.Read(ref _eventsSent);

    /// <summary>The subscriptions that are subscribed right now.</summary>
    public int ActiveSubscriptions => _subscribers.Keys.Count(s => s.SubscriptionId is not null);

    /// <summary>Every connection_init's authorization value and every subscribe message, in order.</summary>
    public ConcurrentQueue<string> SeenConnectionInits { get; } = new();

    public ConcurrentQueue<JsonObject> SeenSubscribes { get; } = new();

    /// <summary>When set, every connection_init is refused with 4403, whatever its token.</summary>
    public bool RejectAllTokens { get; set; }

    /// <summary>When set, answers a subscribe with an <c>error</c> message carrying these GraphQL errors.</summary>
    public JsonArray? OperationErrors { get; set; }

    /// <summary>When set, answers the WebSocket handshake with this HTTP status instead of accepting it.</summary>
    public int? HandshakeStatus { get; set; }

    /// <summary>Waits until <paramref name="count"/> subscriptions are subscribed.</summary>
    public async Task WaitForSubscriptionsAsync(int count, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (ActiveSubscriptions < count)
        {
            await Task.Delay(10, cancel.Token);
        }
    }

    /// <summary>Sends <c>next</c> with <paramref name="data"/> to every open subscription; returns how many got it.</summary>
    public async Task<int> PublishAsync(JsonNode data, JsonArray? errors = null)
    {
        var sent = 0;
        foreach (var subscriber in _subscribers.Keys.Where(s => s.SubscriptionId is not null))
        {
            var payload = new JsonObject { ["data"] = data.DeepClone() };
            if (errors is not null)
            {
                payload["errors"] = errors.DeepClone();
            }

            if (await subscriber.TrySendAsync(new JsonObject { ["id"] = subscriber.SubscriptionId, ["type"] = "next", ["payload"] = payload }))
            {
                sent++;
                Interlocked.Increment(ref _eventsSent);
            }
        }

        return sent;
    }

    /// <summary>Sends a raw text message to every open subscription.</summary>
    public async Task SendRawAsync(string text)
    {
        foreach (var subscriber in _subscribers.Keys.Where(s => s.SubscriptionId is not null))
        {
            await subscriber.TrySendRawAsync(text);
        }
    }

    public async Task PingAsync()
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            await subscriber.TrySendAsync(new JsonObject { ["type"] = "ping" });
        }
    }

    public async Task CompleteSubscriptionsAsync()
    {
        foreach (var subscriber in _subscribers.Keys.Where(s => s.SubscriptionId is not null))
        {
            await subscriber.TrySendAsync(new JsonObject { ["id"] = subscriber.SubscriptionId, ["type"] = "complete" });
        }
    }

    /// <summary>Closes every open connection with <paramref name="code"/>.</summary>
    public async Task CloseSubscriptionsAsync(int code)
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            await subscriber.CloseAsync(code);
        }
    }

    /// <summary>Aborts every open connection without a close handshake, as a network loss would.</summary>
    public void DropSubscriptions()
    {
        foreach (var subscriber in _subscribers.Keys)
        {
            subscriber.Abort();
        }
    }

    private void CloseSubscriptionsHolding(string accessToken)
    {
        foreach (var subscriber in _subscribers.Keys.Where(s => s.Token == accessToken))
        {
            _ = subscriber.CloseAsync(4403);
        }
    }

    private async Task SubscriptionsAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        Interlocked.Increment(ref _subscriptionConnections);
        if (HandshakeStatus is { } status)
        {
            context.Response.StatusCode = status;
            return;
        }

        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol))
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(SubProtocol);
        var subscriber = new FakeSubscriber(socket, context);
        _subscribers[subscriber] = 0;
        try
        {
            await ServeAsync(subscriber);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or IOException or ConnectionAbortedException)
        {
            // The client went away.
        }
        finally
        {
            _subscribers.TryRemove(subscriber, out _);
        }
    }

    private async Task ServeAsync(FakeSubscriber subscriber)
    {
        var socket = subscriber.Socket;
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, subscriber.Aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (result.CloseStatus == WebSocketCloseStatus.NormalClosure)
                    {
                        Interlocked.Increment(ref _normalClosesReceived);
                    }

                    subscriber.SubscriptionId = null;
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await subscriber.CloseAsync(1000);
                    }

                    return;
                }

                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var json = JsonNode.Parse(message.ToArray())!.AsObject();
            switch ((string?)json["type"])
            {
                case "connection_init":
                    var authorization = (string?)json["payload"]?["authorization"] ?? string.Empty;
                    SeenConnectionInits.Enqueue(authorization);
                    var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization[7..] : null;
                    if (RejectAllTokens || token is null || !IsAccessTokenValid(token))
                    {
                        Interlocked.Increment(ref _subscriptionRejections);
                        await subscriber.CloseAsync(4403);
                        return;
                    }

                    subscriber.Token = token;
                    await subscriber.TrySendAsync(new JsonObject { ["type"] = "connection_ack" });
                    Interlocked.Increment(ref _subscriptionAcks);
                    break;
                case "subscribe":
                    SeenSubscribes.Enqueue(json);
                    Interlocked.Increment(ref _subscribes);
                    if (OperationErrors is { } errors)
                    {
                        await subscriber.TrySendAsync(new JsonObject { ["id"] = (string?)json["id"], ["type"] = "error", ["payload"] = errors.DeepClone() });
                        break;
                    }

                    // A token invalidated between the ack and the subscribe is refused as Pitchly would.
                    if (subscriber.Token is { } held && !IsAccessTokenValid(held))
                    {
                        await subscriber.CloseAsync(4403);
                        return;
                    }

                    subscriber.SubscriptionId = (string?)json["id"];
                    break;
                case "complete":
                    Interlocked.Increment(ref _completesReceived);
                    subscriber.SubscriptionId = null;
                    break;
                case "ping":
                    await subscriber.TrySendAsync(new JsonObject { ["type"] = "pong" });
                    break;
                case "pong":
                    Interlocked.Increment(ref _pongsReceived);
                    break;
            }
        }
    }

    /// <summary>One open connection at the fake: its socket, one sender at a time, and what it holds.</summary>
    private sealed class FakeSubscriber(WebSocket socket, HttpContext context)
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly CancellationTokenSource _abort = new();

        public WebSocket Socket { get; } = socket;

        public CancellationToken Aborted => _abort.Token;

        public volatile string? Token;

        public volatile string? SubscriptionId;

        public Task<bool> TrySendAsync(JsonObject message) => TrySendRawAsync(message.ToJsonString());

        public async Task<bool> TrySendRawAsync(string text)
        {
            await _send.WaitAsync();
            try
            {
                if (Socket.State != WebSocketState.Open)
                {
                    return false;
                }

                await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                return true;
            }
            catch (Exception exception) when (exception is WebSocketException or IOException or ObjectDisposedException)
            {
                return false;
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task CloseAsync(int code)
        {
            SubscriptionId = null;
            await _send.WaitAsync();
            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await Socket.CloseOutputAsync((WebSocketCloseStatus)code, "closed by the fake", CancellationToken.None);
                }
            }
            catch (Exception exception) when (exception is WebSocketException or IOException or ObjectDisposedException)
            {
                // Already gone.
            }
            finally
            {
                _send.Release();
            }
        }

        public void Abort()
        {
            SubscriptionId = null;
            context.Abort();
            _abort.Cancel();
        }
    }
}

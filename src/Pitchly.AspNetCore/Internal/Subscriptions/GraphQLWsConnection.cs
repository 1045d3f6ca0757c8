using System.Buffers;
using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Pitchly.AspNetCore.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Replay;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>How one connection of a subscription ended, when it ended without a fatal error.</summary>
internal enum ConnectionEnd
{
    /// <summary>Pitchly sent <c>complete</c>: the subscription is over.</summary>
    Completed,

    /// <summary>Pitchly closed the connection because of the access token (4403, or 4401).</summary>
    TokenRejected,

    /// <summary>The connection failed or was closed for a reason a new connection may cure.</summary>
    Lost,

    /// <summary>The application stopped the subscription.</summary>
    Stopped,
}

/// <summary>What one connection did: how it ended and whether it got far enough to reset the breakers.</summary>
internal sealed record ConnectionResult(ConnectionEnd End, bool Acknowledged, bool DeliveredEvent, TimeSpan Uptime, int? CloseStatus, string Reason, Exception? Failure);

/// <summary>
/// One WebSocket connection speaking graphql-ws (<c>graphql-transport-ws</c>) for one subscription: handshake,
/// <c>connection_init</c> with the token in <c>authorization</c>, <c>connection_ack</c>, <c>subscribe</c>, then
/// <c>next</c> events into the channel until <c>complete</c>, an <c>error</c>, a close or a stop. Answers <c>ping</c>
/// with <c>pong</c>. Stopping sends <c>complete</c> and closes the connection with 1000.
/// </summary>
internal static class GraphQLWsConnection
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    public static async Task<ConnectionResult> RunAsync<TData>(
        SubscriptionRequest<TData> subscription,
        Uri endpoint,
        string accessToken,
        PitchlySubscriptionClientOptions options,
        TimeProvider time,
        ChannelWriter<PitchlyGraphQLResponse<TData>> events,
        Action acknowledged,
        CancellationToken stop)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(Subprotocol);
        socket.Options.CollectHttpResponseDetails = true;
        if (options.KeepAliveInterval > TimeSpan.Zero)
        {
            socket.Options.KeepAliveInterval = options.KeepAliveInterval;
            socket.Options.KeepAliveTimeout = options.KeepAliveInterval;
        }

        using var abort = new CancellationTokenSource();
        var state = new State(socket, subscription.Id, abort);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var registration = stop.Register(static s => ((State)s!).OnStop(), state);

        // 1. Handshake, connection_init, connection_ack: bounded by ConnectionTimeout; a stop simply aborts.
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(abort.Token))
        {
            connecting.CancelAfter(options.ConnectionTimeout);
            try
            {
                await socket.ConnectAsync(endpoint, connecting.Token);
                if (socket.SubProtocol != Subprotocol)
                {
                    throw new PitchlySubscriptionException(
                        $"Pitchly's subscription endpoint {endpoint} did not accept the {Subprotocol} protocol. Check Pitchly:Subscriptions:Endpoint.", (int?)null);
                }

                await state.SendAsync(WriteConnectionInit(accessToken), connecting.Token);
                while (true)
                {
                    var message = await ReceiveAsync(socket, buffer, options.MaxMessageSize, connecting.Token);
                    if (message is null)
                    {
                        return await ClosedAsync(state, acknowledged: false, delivered: false, TimeSpan.Zero);
                    }

                    using var document = Parse(message.Value) ?? throw await ProtocolErrorAsync(state, "Pitchly sent a subscription message that is not JSON.");
                    var type = TypeOf(document.RootElement);
                    if (type == MessageType.ConnectionAck)
                    {
                        break;
                    }

                    if (type == MessageType.Ping)
                    {
                        await state.SendAsync(Pong, connecting.Token);
                    }
                    else if (type != MessageType.Pong)
                    {
                        throw await ProtocolErrorAsync(state, $"Pitchly sent '{type}' before acknowledging the connection.");
                    }
                }
            }
            catch (OperationCanceledException) when (state.Stopping)
            {
                return new ConnectionResult(ConnectionEnd.Stopped, false, false, TimeSpan.Zero, null, "stopped", null);
            }
            catch (OperationCanceledException exception) when (connecting.IsCancellationRequested)
            {
                return new ConnectionResult(ConnectionEnd.Lost, false, false, TimeSpan.Zero, null, "connection_timeout",
                    new TimeoutException($"The connection to Pitchly's subscription endpoint was not acknowledged within {options.ConnectionTimeout} (Pitchly:Subscriptions:ConnectionTimeout).", exception));
            }
            catch (WebSocketException exception) when (socket.HttpStatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError
                                                        and not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests)
            {
                throw new PitchlySubscriptionException(
                    $"Pitchly's subscription endpoint {endpoint} refused the WebSocket handshake with HTTP {(int)socket.HttpStatusCode}. Check Pitchly:Subscriptions:Endpoint.", (int?)null, exception);
            }
            catch (Exception exception) when (IsConnectionFailure(exception))
            {
                return new ConnectionResult(ConnectionEnd.Lost, false, false, TimeSpan.Zero, null, "connection_failed", exception);
            }
        }

        // 2. Subscribe and stream: receives are never cancelled by the stop (that would abort the socket before
        // complete could be sent); the stop sends complete and a close, and the server's close ends the loop.
        var acknowledgedAt = time.GetTimestamp();
        acknowledged();
        var delivered = false;
        var discard = false;
        try
        {
            await state.SendAsync(WriteSubscribe(subscription), abort.Token);
            state.Subscribed();
            while (true)
            {
                var message = await ReceiveAsync(socket, buffer, options.MaxMessageSize, abort.Token);
                if (message is null)
                {
                    return await ClosedAsync(state, acknowledged: true, delivered, time.GetElapsedTime(acknowledgedAt));
                }

                using var document = Parse(message.Value) ?? throw await ProtocolErrorAsync(state, "Pitchly sent a subscription message that is not JSON.");
                var root = document.RootElement;
                var type = TypeOf(root);
                switch (type)
                {
                    case MessageType.Next when IsOurs(root, subscription.Id):
                        if (!root.TryGetProperty("payload", out var payload) || !GraphQLResponseReader.IsResult(payload))
                        {
                            throw await ProtocolErrorAsync(state, "Pitchly sent a 'next' message whose payload is not a GraphQL result.");
                        }

                        var response = GraphQLResponseReader.FromResult(payload, subscription.DataTypeInfo, HttpStatusCode.OK);
                        delivered = true;
                        if (!discard)
                        {
                            try
                            {
                                await events.WriteAsync(response, stop);
                            }
                            catch (OperationCanceledException) when (stop.IsCancellationRequested)
                            {
                                // Nobody reads any more; keep receiving until the server answers the close.
                                discard = true;
                            }
                        }

                        break;
                    case MessageType.Error when IsOurs(root, subscription.Id):
                        await CloseAsync(state, WebSocketCloseStatus.NormalClosure);
                        throw OperationError(root);
                    case MessageType.Complete when IsOurs(root, subscription.Id):
                        await CloseAsync(state, WebSocketCloseStatus.NormalClosure);
                        return new ConnectionResult(state.Stopping ? ConnectionEnd.Stopped : ConnectionEnd.Completed, true, delivered, time.GetElapsedTime(acknowledgedAt), 1000, "completed", null);
                    case MessageType.Ping:
                        await state.SendAsync(Pong, abort.Token);
                        break;
                    case MessageType.Pong or MessageType.ConnectionAck or MessageType.Next or MessageType.Error or MessageType.Complete:
                        break;
                    default:
                        throw await ProtocolErrorAsync(state, $"Pitchly sent a message of unknown type '{type}'.");
                }
            }
        }
        catch (OperationCanceledException) when (state.Stopping)
        {
            return new ConnectionResult(ConnectionEnd.Stopped, true, delivered, time.GetElapsedTime(acknowledgedAt), null, "stopped", null);
        }
        catch (Exception exception) when (IsConnectionFailure(exception))
        {
            return state.Stopping
                ? new ConnectionResult(ConnectionEnd.Stopped, true, delivered, time.GetElapsedTime(acknowledgedAt), null, "stopped", null)
                : new ConnectionResult(ConnectionEnd.Lost, true, delivered, time.GetElapsedTime(acknowledgedAt), null, "connection_lost", exception);
        }
    }

    private static bool IsConnectionFailure(Exception exception) =>
        exception is WebSocketException or IOException or HttpRequestException or OperationCanceledException;

    private static bool IsOurs(JsonElement root, string id) =>
        root.TryGetProperty("id", out var value) && value.ValueKind == JsonValueKind.String && value.ValueEquals(id);

    private static string? TypeOf(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;

    private static JsonDocument? Parse(ReadOnlyMemory<byte> message)
    {
        try
        {
            return JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads one whole message; <see langword="null"/> when the server closed the connection.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReceiveAsync(ClientWebSocket socket, ArrayBufferWriter<byte> buffer, int maxSize, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(8192), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > maxSize)
            {
                await AbortWithAsync(socket, WebSocketCloseStatus.MessageTooBig);
                throw new PitchlySubscriptionException(
                    $"Pitchly sent a subscription message larger than {maxSize} bytes; the subscription was ended. Raise Pitchly:Subscriptions:MaxMessageSize or subscribe to less data.", 1009);
            }

            if (result.EndOfMessage)
            {
                return buffer.WrittenMemory;
            }
        }
    }

    /// <summary>Classifies the server's close and completes the closing handshake.</summary>
    private static async Task<ConnectionResult> ClosedAsync(State state, bool acknowledged, bool delivered, TimeSpan uptime)
    {
        var status = (int?)state.Socket.CloseStatus;
        await CloseAsync(state, WebSocketCloseStatus.NormalClosure);
        if (state.Stopping)
        {
            return new ConnectionResult(ConnectionEnd.Stopped, acknowledged, delivered, uptime, status, "stopped", null);
        }

        if (InvalidTokenRule.IsInvalidTokenClose(status))
        {
            return new ConnectionResult(ConnectionEnd.TokenRejected, acknowledged, delivered, uptime, status, "token_rejected", null);
        }

        switch (status)
        {
            case CloseCode.BadRequest or CloseCode.SubprotocolNotAcceptable or CloseCode.SubscriberAlreadyExists:
                throw new PitchlySubscriptionException(
                    $"Pitchly closed the subscription with code {status} ({Describe(status)}); a new connection would not change that, so the subscription was ended.", status);
            default:
                return new ConnectionResult(ConnectionEnd.Lost, acknowledged, delivered, uptime, status, "server_closed", null);
        }
    }

    private static string Describe(int? status) => status switch
    {
        CloseCode.BadRequest => "bad request: the operation or a message was invalid",
        CloseCode.SubprotocolNotAcceptable => "subprotocol not acceptable",
        CloseCode.SubscriberAlreadyExists => "a subscriber with this id already exists",
        _ => "unexpected",
    };

    private static PitchlyGraphQLException OperationError(JsonElement root)
    {
        var errors = root.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Array
            ? GraphQLResponseReader.ReadErrors(payload)
            : [];
        if (errors.Length == 0)
        {
            return new PitchlyGraphQLException("Pitchly answered the subscription with an error message that carries no GraphQL errors.", errors, null);
        }

        try
        {
            new PitchlyGraphQLResponse<object>(null, errors, HttpStatusCode.OK).EnsureNoErrors();
        }
        catch (PitchlyGraphQLException exception)
        {
            return exception;
        }

        return new PitchlyGraphQLException("Pitchly answered the subscription with an error.", errors, null);
    }

    private static async Task<PitchlySubscriptionException> ProtocolErrorAsync(State state, string what)
    {
        await CloseAsync(state, (WebSocketCloseStatus)CloseCode.BadRequest);
        return new PitchlySubscriptionException($"{what} That is not graphql-ws ({Subprotocol}); the subscription was ended.", CloseCode.BadRequest);
    }

    private static async Task CloseAsync(State state, WebSocketCloseStatus status)
    {
        var socket = state.Socket;
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await state.SendLock.WaitAsync(timeout.Token);
            try
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(status, null, timeout.Token);
                }
                else if (socket.State == WebSocketState.Open)
                {
                    await socket.CloseAsync(status, null, timeout.Token);
                }
            }
            finally
            {
                state.SendLock.Release();
            }
        }
        catch (Exception exception) when (IsConnectionFailure(exception) || exception is ObjectDisposedException)
        {
            // The connection is gone already; nothing left to close.
        }
    }

    private static async Task AbortWithAsync(ClientWebSocket socket, WebSocketCloseStatus status)
    {
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await socket.CloseOutputAsync(status, null, timeout.Token);
        }
        catch (Exception exception) when (IsConnectionFailure(exception) || exception is ObjectDisposedException)
        {
            // Closing is a courtesy here.
        }
    }

    private static readonly byte[] Pong = WriteMessage(MessageType.Pong);

    private static byte[] WriteConnectionInit(string accessToken)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + accessToken.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, MessageType.ConnectionInit);
            writer.WriteStartObject("payload"u8);
            writer.WriteString("authorization"u8, "Bearer " + accessToken);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] WriteSubscribe<TData>(SubscriptionRequest<TData> subscription)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + subscription.Request.Query.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, subscription.Id);
            writer.WriteString("type"u8, MessageType.Subscribe);
            writer.WritePropertyName("payload"u8);
            GraphQLRequestWriter.Write(writer, subscription.Request, accessToken: null, subscription.DataTypeInfo.Options);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] WriteComplete(string id)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("type"u8, MessageType.Complete);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] WriteMessage(string type)
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, type);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The connection's shared state: the socket, the one-sender lock, and the stop.</summary>
    private sealed class State(ClientWebSocket socket, string id, CancellationTokenSource abort)
    {
        private int _subscribed;
        private int _stopping;

        public ClientWebSocket Socket { get; } = socket;

        public SemaphoreSlim SendLock { get; } = new(1, 1);

        public CancellationTokenSource Abort { get; } = abort;

        public bool Stopping => Volatile.Read(ref _stopping) == 1;

        public void Subscribed() => Volatile.Write(ref _subscribed, 1);

        public async Task SendAsync(byte[] message, CancellationToken cancellationToken)
        {
            await SendLock.WaitAsync(cancellationToken);
            try
            {
                await Socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            finally
            {
                SendLock.Release();
            }
        }

        public void OnStop()
        {
            Volatile.Write(ref _stopping, 1);
            if (Volatile.Read(ref _subscribed) == 0)
            {
                // Nothing subscribed yet: there is nothing to complete, so the connection is simply dropped.
                Abort.Cancel();
                return;
            }

            _ = CompleteAndCloseAsync();
        }

        private async Task CompleteAndCloseAsync()
        {
            using var timeout = new CancellationTokenSource(CloseTimeout);
            try
            {
                await SendLock.WaitAsync(timeout.Token);
                try
                {
                    if (Socket.State == WebSocketState.Open)
                    {
                        await Socket.SendAsync(WriteComplete(id), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
                        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    }
                }
                finally
                {
                    SendLock.Release();
                }
            }
            catch (Exception exception) when (IsConnectionFailure(exception) || exception is ObjectDisposedException)
            {
                // The connection is gone already.
            }

            // If the server never answers the close, stop waiting for it.
            try
            {
                Abort.CancelAfter(CloseTimeout);
            }
            catch (ObjectDisposedException)
            {
                // The connection already ended.
            }
        }
    }
}

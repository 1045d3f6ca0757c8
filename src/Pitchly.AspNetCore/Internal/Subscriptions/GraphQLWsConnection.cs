using System.Buffers;
using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Pitchly.AspNetCore.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Replay;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>
/// One WebSocket connection speaking graphql-ws (<c>graphql-transport-ws</c>) for one subscription, in two steps:
/// <see cref="ConnectAsync"/> (handshake, <c>connection_init</c> with the token in <c>authorization</c>,
/// <c>connection_ack</c>) and <see cref="StreamAsync"/> (<c>subscribe</c>, then <c>next</c> events into the channel
/// until <c>complete</c>, an <c>error</c>, a close or a stop). Answers <c>ping</c> with <c>pong</c> throughout. A stop
/// before the subscribe drops the connection; after it, sends <c>complete</c> and closes the connection with 1000.
/// </summary>
internal sealed class GraphQLWsConnection : IDisposable
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private static readonly byte[] Pong = GraphQLWsMessages.WriteMessage(MessageType.Pong);

    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly string _subscriptionId;
    private readonly PitchlySubscriptionClientOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationToken _stop;
    private readonly CancellationTokenRegistration _stopRegistration;
    private string? _accessToken;
    private int _subscribed;
    private int _stopping;

    public GraphQLWsConnection(string subscriptionId, PitchlySubscriptionClientOptions options, TimeProvider time, CancellationToken stop)
    {
        _subscriptionId = subscriptionId;
        _options = options;
        _time = time;
        _stop = stop;
        _socket.Options.AddSubProtocol(Subprotocol);
        _socket.Options.CollectHttpResponseDetails = true;
        if (options.KeepAliveInterval > TimeSpan.Zero)
        {
            _socket.Options.KeepAliveInterval = options.KeepAliveInterval;
            _socket.Options.KeepAliveTimeout = options.KeepAliveInterval;
        }

        // Last: a stop already requested runs OnStop at once, on a connection ready for it.
        _stopRegistration = stop.Register(static connection => ((GraphQLWsConnection)connection!).OnStop(), this);
    }

    private bool Stopping => Volatile.Read(ref _stopping) == 1;

    /// <summary>
    /// Step 1: handshake, <c>connection_init</c>, <c>connection_ack</c>, bounded by <c>ConnectionTimeout</c>; a stop
    /// simply aborts. <see langword="null"/> once acknowledged; otherwise how the connection ended.
    /// </summary>
    public async Task<ConnectionResult?> ConnectAsync(Uri endpoint, string accessToken)
    {
        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        connecting.CancelAfter(_options.ConnectionTimeout);
        try
        {
            await _socket.ConnectAsync(endpoint, connecting.Token);
            if (_socket.SubProtocol != Subprotocol)
            {
                throw new PitchlySubscriptionException(
                    $"Pitchly's subscription endpoint {endpoint} did not accept the {Subprotocol} protocol. Check Pitchly:Subscriptions:Endpoint.", (int?)null);
            }

            // Kept to be redacted from the errors of this connection's subscription, should Pitchly echo it.
            _accessToken = accessToken;
            await SendAsync(GraphQLWsMessages.WriteConnectionInit(accessToken), connecting.Token);
            while (true)
            {
                var message = await ReceiveAsync(connecting.Token);
                if (message is null)
                {
                    return await ClosedAsync(ConnectionProgress.NotAcknowledged);
                }

                using var document = GraphQLWsMessages.Parse(message.Value) ?? throw await ProtocolErrorAsync("Pitchly sent a subscription message that is not JSON.");
                var type = GraphQLWsMessages.TypeOf(document.RootElement);
                if (type == MessageType.ConnectionAck)
                {
                    return null;
                }

                if (type == MessageType.Ping)
                {
                    await SendAsync(Pong, connecting.Token);
                }
                else if (type != MessageType.Pong)
                {
                    throw await ProtocolErrorAsync($"Pitchly sent '{type}' before acknowledging the connection.");
                }
            }
        }
        catch (OperationCanceledException) when (Stopping)
        {
            return ConnectionResult.Stopped(ConnectionProgress.NotAcknowledged);
        }
        catch (OperationCanceledException exception) when (connecting.IsCancellationRequested)
        {
            return ConnectionResult.Lost(ConnectionProgress.NotAcknowledged, "connection_timeout", failure:
                new TimeoutException($"The connection to Pitchly's subscription endpoint was not acknowledged within {_options.ConnectionTimeout} (Pitchly:Subscriptions:ConnectionTimeout).", exception));
        }
        catch (WebSocketException exception) when (_socket.HttpStatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError
                                                    and not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests)
        {
            throw new PitchlySubscriptionException(
                $"Pitchly's subscription endpoint {endpoint} refused the WebSocket handshake with HTTP {(int)_socket.HttpStatusCode}. Check Pitchly:Subscriptions:Endpoint.", (int?)null, exception);
        }
        catch (Exception exception) when (IsConnectionFailure(exception))
        {
            return ConnectionResult.Lost(ConnectionProgress.NotAcknowledged, "connection_failed", failure: exception);
        }
    }

    /// <summary>
    /// Step 2, once acknowledged: subscribe and stream until the connection ends. Receives are never cancelled by the
    /// stop (that would abort the socket before <c>complete</c> could be sent); the stop sends <c>complete</c> and a
    /// close, and the server's close ends the loop.
    /// </summary>
    public async Task<ConnectionResult> StreamAsync<TData>(SubscriptionRequest<TData> subscription, ChannelWriter<PitchlyGraphQLResponse<TData>> events)
    {
        var acknowledgedAt = _time.GetTimestamp();
        var delivered = false;
        var discard = false;
        var subscribe = GraphQLWsMessages.WriteSubscribe(subscription);
        KnownSecrets? secrets = null;
        try
        {
            await SendAsync(subscribe, _abort.Token);
            Volatile.Write(ref _subscribed, 1);
            while (true)
            {
                var message = await ReceiveAsync(_abort.Token);
                if (message is null)
                {
                    return await ClosedAsync(Progress());
                }

                using var document = GraphQLWsMessages.Parse(message.Value) ?? throw await ProtocolErrorAsync("Pitchly sent a subscription message that is not JSON.");
                var root = document.RootElement;
                var type = GraphQLWsMessages.TypeOf(root);
                switch (type)
                {
                    case MessageType.Next when GraphQLWsMessages.IsOurs(root, subscription.Id):
                        if (!root.TryGetProperty("payload", out var payload) || !GraphQLResponseReader.IsResult(payload))
                        {
                            throw await ProtocolErrorAsync("Pitchly sent a 'next' message whose payload is not a GraphQL result.");
                        }

                        var response = GraphQLResponseReader.FromResult(payload, subscription.DataTypeInfo, HttpStatusCode.OK, GraphQLResponseReader.HasErrors(payload) ? Secrets() : KnownSecrets.None);
                        delivered = true;
                        if (!discard)
                        {
                            try
                            {
                                await events.WriteAsync(response, _stop);
                            }
                            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                            {
                                // Nobody reads any more; keep receiving until the server answers the close.
                                discard = true;
                            }
                        }

                        break;
                    case MessageType.Error when GraphQLWsMessages.IsOurs(root, subscription.Id):
                        await CloseAsync(WebSocketCloseStatus.NormalClosure);
                        throw GraphQLWsMessages.OperationError(root, Secrets());
                    case MessageType.Complete when GraphQLWsMessages.IsOurs(root, subscription.Id):
                        await CloseAsync(WebSocketCloseStatus.NormalClosure);
                        return Stopping
                            ? ConnectionResult.Stopped(Progress(), (int)WebSocketCloseStatus.NormalClosure)
                            : ConnectionResult.Completed(Progress());
                    case MessageType.Ping:
                        await SendAsync(Pong, _abort.Token);
                        break;
                    case MessageType.Pong or MessageType.ConnectionAck or MessageType.Next or MessageType.Error or MessageType.Complete:
                        break;
                    default:
                        throw await ProtocolErrorAsync($"Pitchly sent a message of unknown type '{type}'.");
                }
            }
        }
        catch (OperationCanceledException) when (Stopping)
        {
            return ConnectionResult.Stopped(Progress());
        }
        catch (Exception exception) when (IsConnectionFailure(exception))
        {
            return Stopping
                ? ConnectionResult.Stopped(Progress())
                : ConnectionResult.Lost(Progress(), "connection_lost", failure: exception);
        }

        ConnectionProgress Progress() => new(Acknowledged: true, delivered, _time.GetElapsedTime(acknowledgedAt));

        // The secrets of this subscription, looked up only when an error text needs them: the token and its secret-named variables.
        KnownSecrets Secrets() => secrets ??= KnownSecrets.From(subscribe, _accessToken);
    }

    public void Dispose()
    {
        _stopRegistration.Dispose();
        _abort.Dispose();
        _socket.Dispose();
    }

    private static bool IsConnectionFailure(Exception exception) =>
        exception is WebSocketException or IOException or HttpRequestException or OperationCanceledException;

    /// <summary>Reads one whole message; <see langword="null"/> when the server closed the connection.</summary>
    private async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        while (true)
        {
            var result = await _socket.ReceiveAsync(_buffer.GetMemory(8192), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            _buffer.Advance(result.Count);
            if (_buffer.WrittenCount > _options.MaxMessageSize)
            {
                await AbortWithAsync(_socket, WebSocketCloseStatus.MessageTooBig);
                throw new PitchlySubscriptionException(
                    $"Pitchly sent a subscription message larger than {_options.MaxMessageSize} bytes; the subscription was ended. Raise Pitchly:Subscriptions:MaxMessageSize or subscribe to less data.", 1009);
            }

            if (result.EndOfMessage)
            {
                return _buffer.WrittenMemory;
            }
        }
    }

    /// <summary>Classifies the server's close and completes the closing handshake.</summary>
    private async Task<ConnectionResult> ClosedAsync(ConnectionProgress progress)
    {
        var status = (int?)_socket.CloseStatus;
        await CloseAsync(WebSocketCloseStatus.NormalClosure);
        if (Stopping)
        {
            return ConnectionResult.Stopped(progress, status);
        }

        if (InvalidTokenRule.IsInvalidTokenClose(status))
        {
            return ConnectionResult.TokenRejected(progress, status);
        }

        switch (status)
        {
            case CloseCode.BadRequest or CloseCode.SubprotocolNotAcceptable or CloseCode.SubscriberAlreadyExists:
                throw new PitchlySubscriptionException(
                    $"Pitchly closed the subscription with code {status} ({Describe(status)}); a new connection would not change that, so the subscription was ended.", status);
            default:
                return ConnectionResult.Lost(progress, "server_closed", status);
        }
    }

    private static string Describe(int? status) => status switch
    {
        CloseCode.BadRequest => "bad request: the operation or a message was invalid",
        CloseCode.SubprotocolNotAcceptable => "subprotocol not acceptable",
        CloseCode.SubscriberAlreadyExists => "a subscriber with this id already exists",
        _ => "unexpected",
    };

    private async Task<PitchlySubscriptionException> ProtocolErrorAsync(string what)
    {
        await CloseAsync((WebSocketCloseStatus)CloseCode.BadRequest);
        return new PitchlySubscriptionException($"{what} That is not graphql-ws ({Subprotocol}); the subscription was ended.", CloseCode.BadRequest);
    }

    private async Task CloseAsync(WebSocketCloseStatus status)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(status, null, timeout.Token);
                }
                else if (_socket.State == WebSocketState.Open)
                {
                    await _socket.CloseAsync(status, null, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
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

    private async Task SendAsync(byte[] message, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private void OnStop()
    {
        Volatile.Write(ref _stopping, 1);
        if (Volatile.Read(ref _subscribed) == 0)
        {
            // Nothing subscribed yet: there is nothing to complete, so the connection is simply dropped.
            _abort.Cancel();
            return;
        }

        _ = CompleteAndCloseAsync();
    }

    private async Task CompleteAndCloseAsync()
    {
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (_socket.State == WebSocketState.Open)
                {
                    await _socket.SendAsync(GraphQLWsMessages.WriteComplete(_subscriptionId), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception exception) when (IsConnectionFailure(exception) || exception is ObjectDisposedException)
        {
            // The connection is gone already.
        }

        // If the server never answers the close, stop waiting for it.
        try
        {
            _abort.CancelAfter(CloseTimeout);
        }
        catch (ObjectDisposedException)
        {
            // The connection already ended.
        }
    }
}

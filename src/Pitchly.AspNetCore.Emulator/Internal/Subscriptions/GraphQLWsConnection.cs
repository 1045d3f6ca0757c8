using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using GraphQL;
using GraphQL.Execution;
using Pitchly.AspNetCore.Emulator.Internal.GraphQL;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

/// <summary>
/// One <c>graphql-transport-ws</c> connection, as the <c>graphql-ws</c> library's server runs it: <c>connection_init</c>
/// within <see cref="ConnectionInitTimeout"/> (else 4408), authenticated by <c>payload.authorization</c> (<c>Bearer
/// &lt;token&gt;</c> or the bare token; refused with 4403), <c>connection_ack</c>; then <c>subscribe</c> / <c>next</c> /
/// <c>error</c> / <c>complete</c> per operation id, <c>ping</c> / <c>pong</c> at any time. Protocol violations close the
/// socket: 4400 invalid message, 4401 subscribe before the ack, 4409 duplicate operation id, 4429 a second
/// <c>connection_init</c>. While open, the token is re-checked every <see cref="RecheckInterval"/>: expired or revoked
/// closes the socket with 4403, so the client must refresh and resubscribe. What a client can make the emulator hold is
/// bounded: at most <see cref="PitchlyEmulatorOptions.MaxSubscriptionOperations"/> operations at once (a further
/// <c>subscribe</c> gets an <c>error</c>), at most <see cref="PitchlyEmulatorOptions.MaxSubscriptionSendQueue"/> messages
/// waiting to be sent (a client that reads too slowly is closed with 1008), messages of at most 1 MiB.
/// </summary>
internal sealed class GraphQLWsConnection : IDisposable
{
    public static readonly TimeSpan ConnectionInitTimeout = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(200);

    private const int MaxMessageBytes = 1024 * 1024;
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly PitchlyEmulator _emulator;
    private readonly CredentialAuthenticator _authenticator;
    private readonly WebSocket _socket;
    private readonly CancellationTokenSource _cts;
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, Operation> _operations = new(StringComparer.Ordinal);
    private readonly Lock _closeLock = new();
    private bool _closing;
    private int _queued;
    private int _initReceived;
    private volatile bool _acknowledged;
    private string? _credential;
    private RequestIdentity? _identity;

    public GraphQLWsConnection(PitchlyEmulator emulator, CredentialAuthenticator authenticator, WebSocket socket, CancellationToken aborted)
    {
        _emulator = emulator;
        _authenticator = authenticator;
        _socket = socket;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
    }

    private global::GraphQL.SystemTextJson.GraphQLSerializer Serializer => EmulatorGraphQL.Serializer(_emulator.Options.ErrorStyle);

    public async Task RunAsync(bool subprotocolAccepted)
    {
        var sender = SendLoopAsync();
        if (!subprotocolAccepted)
        {
            Close(CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable");
        }
        else
        {
            _ = InitTimeoutAsync();
        }

        try
        {
            await ReceiveLoopAsync();
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException)
        {
            // The client went away or did not finish the close handshake: nothing left to tell it.
        }
        finally
        {
            foreach (var operation in _operations.Values)
            {
                operation.Dispose();
            }

            _operations.Clear();
            _outgoing.Writer.TryComplete();
            try
            {
                // Let the queued close frame (ours, or the echo of the client's) go out before giving up on the socket.
                await sender.WaitAsync(CloseHandshakeTimeout);
            }
            catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or TimeoutException)
            {
            }

            await _cts.CancelAsync();
        }
    }

    public void Dispose() => _cts.Dispose();

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[4096];
        var message = new ArrayBufferWriter<byte>();
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer.AsMemory(), _cts.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                // The client closes (or answers our close): echo its close unless ours is already on the way.
                Close((int?)_socket.CloseStatus ?? (int)WebSocketCloseStatus.NormalClosure, string.Empty, echo: true);
                return;
            }

            if (message.WrittenCount + received.Count > MaxMessageBytes)
            {
                Close((int)WebSocketCloseStatus.MessageTooBig, "Message too big");
                message.ResetWrittenCount();
                continue;
            }

            message.Write(buffer.AsSpan(0, received.Count));
            if (!received.EndOfMessage)
            {
                continue;
            }

            if (!IsClosing)
            {
                if (received.MessageType != WebSocketMessageType.Text)
                {
                    Close(CloseCode.BadRequest, "Invalid message received: binary messages are not part of the protocol");
                }
                else
                {
                    Handle(message.WrittenMemory);
                }
            }

            message.ResetWrittenCount();
        }
    }

    private bool IsClosing
    {
        get
        {
            lock (_closeLock)
            {
                return _closing;
            }
        }
    }

    private void Handle(ReadOnlyMemory<byte> text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            Close(CloseCode.BadRequest, "Invalid message received: not JSON");
            return;
        }

        using (document)
        {
            var message = document.RootElement;
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("type", out var typeElement)
                || typeElement.ValueKind != JsonValueKind.String)
            {
                Close(CloseCode.BadRequest, "Invalid message received: a message is an object with a string \"type\"");
                return;
            }

            var hasPayload = message.TryGetProperty("payload", out var payload) && payload.ValueKind != JsonValueKind.Null;
            switch (typeElement.GetString())
            {
                case MessageType.ConnectionInit:
                    if (hasPayload && payload.ValueKind != JsonValueKind.Object)
                    {
                        Close(CloseCode.BadRequest, "Invalid message received: connection_init's payload must be an object");
                        return;
                    }

                    OnConnectionInit(hasPayload ? payload : null);
                    return;

                case MessageType.Ping:
                    if (hasPayload && payload.ValueKind != JsonValueKind.Object)
                    {
                        Close(CloseCode.BadRequest, "Invalid message received: ping's payload must be an object");
                        return;
                    }

                    Send(writer =>
                    {
                        writer.WriteString("type", MessageType.Pong);
                        if (hasPayload)
                        {
                            writer.WritePropertyName("payload");
                            payload.WriteTo(writer);
                        }
                    });
                    return;

                case MessageType.Pong:
                    if (hasPayload && payload.ValueKind != JsonValueKind.Object)
                    {
                        Close(CloseCode.BadRequest, "Invalid message received: pong's payload must be an object");
                    }

                    return;

                case MessageType.Subscribe:
                    OnSubscribe(message, hasPayload ? payload : null);
                    return;

                case MessageType.Complete:
                    if (!TryGetId(message, out var id))
                    {
                        Close(CloseCode.BadRequest, "Invalid message received: complete needs a non-empty string \"id\"");
                        return;
                    }

                    if (_operations.TryRemove(id, out var operation))
                    {
                        operation.Dispose();
                    }

                    return;

                default:
                    Close(CloseCode.BadRequest, "Invalid message received: unknown message type");
                    return;
            }
        }
    }

    private void OnConnectionInit(JsonElement? payload)
    {
        if (Interlocked.Exchange(ref _initReceived, 1) == 1)
        {
            Close(CloseCode.TooManyInitialisationRequests, "Too many initialisation requests");
            return;
        }

        string? token = null;
        if (payload is { } parameters
            && parameters.TryGetProperty("authorization", out var authorization)
            && authorization.ValueKind == JsonValueKind.String)
        {
            token = authorization.GetString()!.Trim();
            if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                token = token["Bearer ".Length..].Trim();
            }

            if (token.Length == 0)
            {
                token = null;
            }
        }

        var identity = _authenticator.Authenticate(token, isSecretKey: false, drawEarlyInvalidation: true, out var failure);
        if (identity is null)
        {
            Interlocked.Increment(ref _emulator.Counters.SubscriptionTokenRejections);
            _emulator.Logger.SubscriptionTokenRejected(failure);
            Close(CloseCode.Forbidden, "Forbidden");
            return;
        }

        _credential = token;
        _identity = identity;
        _acknowledged = true;
        Interlocked.Increment(ref _emulator.Counters.SubscriptionConnections);
        Send(writer => writer.WriteString("type", MessageType.ConnectionAck));
        _ = RecheckLoopAsync();
    }

    private void OnSubscribe(JsonElement message, JsonElement? payload)
    {
        if (!TryGetId(message, out var id)
            || payload is not { ValueKind: JsonValueKind.Object } request
            || !request.TryGetProperty("query", out var query)
            || query.ValueKind != JsonValueKind.String)
        {
            Close(CloseCode.BadRequest, "Invalid message received: subscribe needs an \"id\" and a payload with a string \"query\"");
            return;
        }

        Inputs? variables = null;
        if (request.TryGetProperty("variables", out var variablesElement) && variablesElement.ValueKind != JsonValueKind.Null)
        {
            if (variablesElement.ValueKind != JsonValueKind.Object)
            {
                Close(CloseCode.BadRequest, "Invalid message received: subscribe's variables must be an object");
                return;
            }

            variables = Serializer.ReadNode<Inputs>(variablesElement);
        }

        string? operationName = null;
        if (request.TryGetProperty("operationName", out var nameElement) && nameElement.ValueKind != JsonValueKind.Null)
        {
            if (nameElement.ValueKind != JsonValueKind.String)
            {
                Close(CloseCode.BadRequest, "Invalid message received: subscribe's operationName must be a string");
                return;
            }

            operationName = nameElement.GetString();
        }

        if (!_acknowledged)
        {
            Close(CloseCode.Unauthorized, "Unauthorized");
            return;
        }

        // Operations are added only here, on the receive loop, so the count cannot grow between the check and the add.
        var maxOperations = _emulator.Options.MaxSubscriptionOperations;
        if (_operations.Count >= maxOperations && !_operations.ContainsKey(id))
        {
            _emulator.Logger.SubscriptionOperationLimit(maxOperations, Truncate(id, 80));
            Send(writer =>
            {
                writer.WriteString("id", id);
                writer.WriteString("type", MessageType.Error);
                writer.WriteStartArray("payload");
                writer.WriteStartObject();
                writer.WriteString(
                    "message",
                    $"This connection already runs {maxOperations} operations ({PitchlyEmulatorDefaults.ConfigurationSection}:{nameof(PitchlyEmulatorOptions.MaxSubscriptionOperations)}): complete one first.");
                writer.WriteEndObject();
                writer.WriteEndArray();
            });
            return;
        }

        var operation = new Operation(id, _cts.Token);
        if (!_operations.TryAdd(id, operation))
        {
            operation.Dispose();
            Close(CloseCode.SubscriberAlreadyExists, $"Subscriber for {Truncate(id, 80)} already exists");
            return;
        }

        Interlocked.Increment(ref _emulator.Counters.SubscriptionOperations);
        _ = RunOperationAsync(operation, query.GetString()!, variables, operationName);
    }

    private async Task RunOperationAsync(Operation operation, string query, Inputs? variables, string? operationName)
    {
        try
        {
            var userContext = new EmulatorUserContext(_emulator)
            {
                Identity = _identity,
                Organization = _emulator.Organizations[_identity!.OrganizationId],
            };
            var result = await EmulatorGraphQL.ExecuteAsync(query, variables, operationName, _emulator.Options.MaxQueryDepth, userContext, listener: null, operation.Token);
            if (operation.Token.IsCancellationRequested)
            {
                return;
            }

            if (result.Streams is { Count: > 0 } streams)
            {
                operation.Attach(streams.Values.First().Subscribe(new Observer(this, operation)));
                return;
            }

            if (!result.Executed || (result.Data is null && result.Errors is { Count: > 0 }))
            {
                var errors = (IEnumerable<ExecutionError>?)result.Errors ?? [];
                var json = Serializer.Serialize(errors);
                Finish(operation, writer =>
                {
                    writer.WriteString("id", operation.Id);
                    writer.WriteString("type", MessageType.Error);
                    writer.WritePropertyName("payload");
                    writer.WriteRawValue(json, skipInputValidation: true);
                });
                return;
            }

            // A query or mutation over the socket: one result, then complete.
            SendNext(operation, result);
            Finish(operation, writer => WriteComplete(writer, operation.Id));
        }
        catch (OperationCanceledException) when (operation.Token.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // Not expected (GraphQL.NET reports resolver failures as errors): end the connection as graphql-ws does.
            _emulator.Logger.SubscriptionOperationFailed(exception);
            Close(CloseCode.InternalServerError, "Internal server error");
        }
    }

    private void SendNext(Operation operation, ExecutionResult result)
    {
        var json = Serializer.Serialize(result);
        Send(writer =>
        {
            writer.WriteString("id", operation.Id);
            writer.WriteString("type", MessageType.Next);
            writer.WritePropertyName("payload");
            writer.WriteRawValue(json, skipInputValidation: true);
        });
    }

    /// <summary>Sends an operation's last message, unless the client completed it first.</summary>
    private void Finish(Operation operation, Action<Utf8JsonWriter> last)
    {
        if (_operations.TryRemove(new KeyValuePair<string, Operation>(operation.Id, operation)))
        {
            Send(last);
            operation.Dispose();
        }
    }

    private static void WriteComplete(Utf8JsonWriter writer, string id)
    {
        writer.WriteString("id", id);
        writer.WriteString("type", MessageType.Complete);
    }

    private async Task InitTimeoutAsync()
    {
        try
        {
            await Task.Delay(ConnectionInitTimeout, _cts.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (Volatile.Read(ref _initReceived) == 0)
        {
            Close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
        }
    }

    private async Task RecheckLoopAsync()
    {
        using var timer = new PeriodicTimer(RecheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_cts.Token))
            {
                if (_authenticator.Authenticate(_credential, isSecretKey: false, drawEarlyInvalidation: false, out var failure) is null)
                {
                    Interlocked.Increment(ref _emulator.Counters.SubscriptionTokenRejections);
                    _emulator.Logger.SubscriptionTokenRejected(failure);
                    Close(CloseCode.Forbidden, "Forbidden");
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Send(Action<Utf8JsonWriter> writeMembers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, EmulatorGraphQL.WriterOptions))
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }

        var limit = _emulator.Options.MaxSubscriptionSendQueue;
        lock (_closeLock)
        {
            if (_closing)
            {
                return;
            }

            if (Interlocked.Increment(ref _queued) <= limit)
            {
                _outgoing.Writer.TryWrite(new Outgoing(buffer.WrittenMemory, null, null));
                return;
            }
        }

        // The client reads more slowly than its events arrive: drop it rather than buffer without end.
        _emulator.Logger.SubscriptionSendQueueFull(limit);
        Close((int)WebSocketCloseStatus.PolicyViolation, "Send queue full: the client reads too slowly");
    }

    /// <summary>Queues the close frame after what is already queued; nothing is sent after it.</summary>
    private void Close(int code, string reason, bool echo = false)
    {
        lock (_closeLock)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;
            _outgoing.Writer.TryWrite(new Outgoing(default, code, FitCloseReason(reason)));
            _outgoing.Writer.TryComplete();
        }

        if (!echo)
        {
            _emulator.Logger.SubscriptionConnectionClosed(code, reason);

            // The client has this long to answer the close frame before the connection is aborted.
            _cts.CancelAfter(CloseHandshakeTimeout);
        }
    }

    private async Task SendLoopAsync()
    {
        await foreach (var item in _outgoing.Reader.ReadAllAsync(_cts.Token))
        {
            if (item.CloseCode is { } code)
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync((WebSocketCloseStatus)code, item.CloseReason, _cts.Token);
                }

                return;
            }

            await _socket.SendAsync(item.Message, WebSocketMessageType.Text, endOfMessage: true, _cts.Token);
            Interlocked.Decrement(ref _queued);
        }
    }

    private static bool TryGetId(JsonElement message, out string id)
    {
        id = string.Empty;
        if (message.TryGetProperty("id", out var element) && element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 } text)
        {
            id = text;
            return true;
        }

        return false;
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    // A close frame's reason is at most 123 bytes of UTF-8.
    private static string FitCloseReason(string reason)
    {
        while (System.Text.Encoding.UTF8.GetByteCount(reason) > 123)
        {
            reason = reason[..^1];
        }

        return reason;
    }

    private readonly record struct Outgoing(ReadOnlyMemory<byte> Message, int? CloseCode, string? CloseReason);

    /// <summary>One active operation: cancelled and its event stream released when it completes or the socket closes.</summary>
    private sealed class Operation : IDisposable
    {
        private readonly CancellationTokenSource _cts;
        private IDisposable? _subscription;
        private int _disposed;

        public Operation(string id, CancellationToken connection)
        {
            Id = id;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(connection);
            Token = _cts.Token;
        }

        public string Id { get; }

        /// <summary>Gets the operation's token; it stays readable after <see cref="Dispose"/>.</summary>
        public CancellationToken Token { get; }

        public void Attach(IDisposable subscription)
        {
            Volatile.Write(ref _subscription, subscription);
            if (Volatile.Read(ref _disposed) == 1)
            {
                Interlocked.Exchange(ref _subscription, null)?.Dispose();
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            _cts.Cancel();
            Interlocked.Exchange(ref _subscription, null)?.Dispose();
            _cts.Dispose();
        }
    }

    /// <summary>Turns the operation's event stream into <c>next</c> messages and its end into <c>complete</c>.</summary>
    private sealed class Observer(GraphQLWsConnection connection, Operation operation) : IObserver<ExecutionResult>
    {
        public void OnNext(ExecutionResult value)
        {
            if (connection._operations.TryGetValue(operation.Id, out var current) && ReferenceEquals(current, operation))
            {
                Interlocked.Increment(ref connection._emulator.Counters.SubscriptionEvents);
                connection.SendNext(operation, value);
            }
        }

        public void OnError(Exception error) =>
            connection.Finish(operation, writer => WriteComplete(writer, operation.Id));

        public void OnCompleted() =>
            connection.Finish(operation, writer => WriteComplete(writer, operation.Id));
    }
}

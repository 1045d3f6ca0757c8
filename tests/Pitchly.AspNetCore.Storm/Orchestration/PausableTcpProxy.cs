namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A loopback TCP proxy to one server (Redis, say) whose forwarding can be paused: <see cref="Pause"/> stops moving
/// bytes in both directions without closing any connection, as a stalled network path or a frozen middlebox would;
/// <see cref="Resume"/> moves them on, in order. Give a client <see cref="Endpoint"/> instead of the server's address.
/// </summary>
public sealed class PausableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _gate = new();
    private readonly Task _accepting;
    private TaskCompletionSource _open = NewGate(open: true);
    private long _bytesForwarded;

    private PausableTcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        Endpoint = (IPEndPoint)_listener.LocalEndpoint;
        _accepting = AcceptAsync();
    }

    /// <summary>Gets the proxy's address on 127.0.0.1.</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>Gets whether forwarding is paused.</summary>
    public bool IsPaused
    {
        get
        {
            lock (_gate)
            {
                return !_open.Task.IsCompleted;
            }
        }
    }

    /// <summary>Gets the bytes forwarded so far, both directions together.</summary>
    public long BytesForwarded => Interlocked.Read(ref _bytesForwarded);

    /// <summary>Starts a proxy on a free loopback port that forwards every connection to <paramref name="target"/>.</summary>
    public static PausableTcpProxy Start(IPEndPoint target) => new(target);

    /// <summary>Stops forwarding in both directions; connections stay open and bytes wait.</summary>
    public void Pause()
    {
        lock (_gate)
        {
            if (_open.Task.IsCompleted)
            {
                _open = NewGate(open: false);
            }
        }
    }

    /// <summary>Forwards again, starting with the bytes that waited.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Resume();
        _listener.Stop();
        Task[] connections;
        lock (_gate)
        {
            connections = [_accepting, .. _connections];
        }

        await Task.WhenAll(connections).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }

    private Task WhenOpen()
    {
        lock (_gate)
        {
            return _open.Task;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                _connections.RemoveAll(c => c.IsCompleted);
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        using (var server = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await server.ConnectAsync(_target, _stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                return;
            }

            client.NoDelay = true;
            server.NoDelay = true;
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            var upstream = PumpAsync(client, server, done.Token);
            var downstream = PumpAsync(server, client, done.Token);
            await Task.WhenAny(upstream, downstream);
            await done.CancelAsync();
            await Task.WhenAll(upstream, downstream).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Waits for the gate before reading and again before writing, so a pause holds bytes already read as well.
    private async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                await WhenOpen().WaitAsync(cancellationToken);
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await WhenOpen().WaitAsync(cancellationToken);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
                Interlocked.Add(ref _bytesForwarded, read);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The connection ended or the proxy is stopping.
        }
    }
}

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port, run in the foreground so this process owns it. It can be
/// paused, frozen, restarted (with its data, like a real restart) and crashed, to inject outages.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly IReadOnlyList<string> _extraArguments;
    private ChildProcess? _process;

    private RedisServer(int port, string directory, IReadOnlyList<string> extraArguments)
    {
        Port = port;
        _directory = directory;
        _extraArguments = extraArguments;
    }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Gets the id of the <c>redis-server</c> process (it changes on <see cref="RestartAsync"/>).</summary>
    public int ProcessId => Running.Id;

    /// <summary>Gets the server's log.</summary>
    public OutputLog Output => Running.Output;

    /// <summary>Gets whether the server process runs (it may be frozen).</summary>
    public bool IsRunning => _process is { HasExited: false };

    private ChildProcess Running => _process ?? throw new InvalidOperationException($"redis-server on port {Port} is stopped.");

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    public static Task<RedisServer> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(port: null, extraArguments: [], cancellationToken);

    /// <summary>
    /// Starts a server on <paramref name="port"/> (a free one when null) with further <c>redis-server</c> arguments
    /// (<c>--replicaof 127.0.0.1 6379</c>, say) and waits until it answers PING.
    /// </summary>
    public static async Task<RedisServer> StartAsync(int? port, IReadOnlyList<string> extraArguments, CancellationToken cancellationToken = default)
    {
        var server = new RedisServer(port ?? FreePort.Next(), Directory.CreateTempSubdirectory("pitchly-storm-redis-").FullName, extraArguments);
        try
        {
            await server.StartAgainAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one command and returns Redis's reply as text (the first line of it).</summary>
    public async Task<string> CommandAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, read).Split("\r\n")[0];
    }

    /// <summary>Makes the server hold every client's commands for <paramref name="duration"/> (<c>CLIENT PAUSE … ALL</c>).</summary>
    public Task<string> PauseAsync(TimeSpan duration) =>
        CommandAsync("CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), "ALL");

    /// <summary>Counts the keys in the current database.</summary>
    public async Task<long> KeyCountAsync()
    {
        var reply = await CommandAsync("DBSIZE");
        return long.Parse(reply.TrimStart(':'), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Restarts the server on the same port as an operator would: <c>SHUTDOWN SAVE</c>, then start again from the
    /// saved data after <paramref name="downtime"/>.
    /// </summary>
    public async Task RestartAsync(TimeSpan downtime, CancellationToken cancellationToken = default)
    {
        await StopAsync(save: true, cancellationToken);
        await Task.Delay(downtime, cancellationToken);
        await StartAgainAsync(cancellationToken);
    }

    /// <summary>
    /// Shuts the server down (<c>SHUTDOWN SAVE</c> or <c>NOSAVE</c>; killed when it does not exit within 10 s) and
    /// leaves it down until <see cref="StartAgainAsync"/>; does nothing when it is down already.
    /// </summary>
    public async Task StopAsync(bool save = false, CancellationToken cancellationToken = default)
    {
        if (_process is not { } process)
        {
            return;
        }

        if (!process.HasExited)
        {
            try
            {
                await CommandAsync("SHUTDOWN", save ? "SAVE" : "NOSAVE");
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The server closes the connection as it shuts down.
            }

            if (!await process.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken))
            {
                process.Kill();
            }
        }

        await process.DisposeAsync();
        _process = null;
    }

    /// <summary>Starts the stopped server again on its port, from its saved data if any, and waits until it answers PING.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException($"redis-server on port {Port} runs already.");
        }

        _process = Launch(Port, _directory, _extraArguments);
        await WaitUntilReadyAsync(cancellationToken);
    }

    /// <summary>
    /// Freezes the server process (SIGSTOP): connections stay open and what clients send waits in the socket, to be
    /// executed in order by <see cref="Thaw"/>, so a client times out on commands Redis later applies.
    /// </summary>
    public void Freeze() => Signals.Stop(ProcessId);

    /// <summary>Lets the frozen server run on (SIGCONT).</summary>
    public void Thaw() => Signals.Continue(ProcessId);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static ChildProcess Launch(int port, string directory, IReadOnlyList<string> extraArguments) =>
        ChildProcess.Start(
            $"redis-server:{port}",
            "redis-server",
            [
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--save", string.Empty,
                "--appendonly", "no",
                "--dir", directory,
                "--dbfilename", "dump.rdb",
                "--maxclients", "10000",
                .. extraArguments,
            ]);

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Running.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited at start (is it installed?):\n{Running.Output}");
            }

            try
            {
                if (await CommandAsync("PING") == "+PONG")
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                // Not listening yet.
            }

            if (stopwatch.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within 15 s:\n{Running.Output}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}

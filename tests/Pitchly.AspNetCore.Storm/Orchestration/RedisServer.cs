using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port, run in the foreground so this process owns it. It can be
/// paused, frozen, restarted (with its data, like a real restart) and crashed, to inject outages.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private ChildProcess _process;

    private RedisServer(int port, string directory, ChildProcess process)
    {
        Port = port;
        _directory = directory;
        _process = process;
    }

    /// <summary>Gets the port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Gets the id of the <c>redis-server</c> process (it changes on <see cref="RestartAsync"/>).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Gets the server's log.</summary>
    public OutputLog Output => _process.Output;

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var port = FreePort.Next();
        var directory = Directory.CreateTempSubdirectory("pitchly-storm-redis-").FullName;
        var server = new RedisServer(port, directory, Launch(port, directory));
        await server.WaitUntilReadyAsync(cancellationToken);
        return server;
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
        try
        {
            await CommandAsync("SHUTDOWN", "SAVE");
        }
        catch (IOException)
        {
            // The server closes the connection as it shuts down.
        }
        catch (SocketException)
        {
        }

        if (!await _process.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken))
        {
            _process.Kill();
        }

        await _process.DisposeAsync();
        await Task.Delay(downtime, cancellationToken);
        _process = Launch(Port, _directory);
        await WaitUntilReadyAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static ChildProcess Launch(int port, string directory) =>
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
            ]);

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited at start (is it installed?):\n{_process.Output}");
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
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within 15 s:\n{_process.Output}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}

using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real, throw-away redis-server on a free loopback port, without persistence, owned by one test class. It can be
/// stopped and started again on the same port to simulate an outage.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pitchly-redis-").FullName;
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    public int Port { get; } = FreePort();

    /// <summary>Gets further <c>redis-server</c> arguments, for example <c>--replicaof 127.0.0.1 6379</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Gets a plain connection (admin commands allowed) to look at what the package stored, or to break things.</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The server has not started.");

    public IServer AdminServer => Admin.GetServer(Configuration);

    public async ValueTask InitializeAsync()
    {
        await StartAsync();
        _admin = await ConnectionMultiplexer.ConnectAsync($"{Configuration},allowAdmin=true,abortConnect=false,connectTimeout=2000");
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", $"{Port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no" }.Concat(ExtraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (Win32Exception exception)
        {
            throw new InvalidOperationException(
                "These tests need a real redis-server on PATH (Debian: apt-get install -y redis-server).", exception);
        }

        _process.OutputDataReceived += static (_, _) => { };
        _process.ErrorDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (await SendAsync("PING") != "+PONG")
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port}.");
            }

            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        await SendAsync("SHUTDOWN NOSAVE");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
        }

        process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Freezes the server process (SIGSTOP): connections stay open and what clients send waits in the socket, to be
    /// executed in order by <see cref="ResumeAsync"/>, so a client times out on commands Redis later applies.
    /// </summary>
    public Task SuspendAsync() => SignalAsync("-STOP");

    public Task ResumeAsync() => SignalAsync("-CONT");

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("The server has not started.");
        using var kill = Process.Start("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    /// <summary>Sends one inline command on a fresh socket and returns the first reply line, or null when nothing listens.</summary>
    private async Task<string?> SendAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).TrimEnd();
        }
        catch (SocketException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

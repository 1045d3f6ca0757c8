using Server = Pitchly.AspNetCore.Storm.Orchestration.RedisServer;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real, throw-away redis-server on a free loopback port, without persistence, owned by one test class: the storm
/// harness's server, with an admin connection. It can be stopped and started again on the same port to simulate an
/// outage, and frozen.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Server? _server;
    private ConnectionMultiplexer? _admin;

    public int Port { get; } = Storm.Orchestration.FreePort.Next();

    /// <summary>Gets further <c>redis-server</c> arguments, for example <c>--replicaof 127.0.0.1 6379</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Gets a plain connection (admin commands allowed) to look at what the package stored, or to break things.</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The server has not started.");

    public IServer AdminServer => Admin.GetServer(Configuration);

    private Server Started => _server ?? throw new InvalidOperationException("The server has not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await Server.StartAsync(Port, ExtraArguments, TestContext.Current.CancellationToken);
        _admin = await ConnectionMultiplexer.ConnectAsync($"{Configuration},allowAdmin=true,abortConnect=false,connectTimeout=2000");
    }

    /// <summary>Starts the stopped server again on its port, empty.</summary>
    public Task StartAsync() => Started.StartAgainAsync(TestContext.Current.CancellationToken);

    /// <summary>Shuts the server down without saving; does nothing when it is down already.</summary>
    public Task StopAsync() => Started.StopAsync(save: false, TestContext.Current.CancellationToken);

    /// <summary>
    /// Freezes the server process (SIGSTOP): connections stay open and what clients send waits in the socket, to be
    /// executed in order by <see cref="ResumeAsync"/>, so a client times out on commands Redis later applies.
    /// </summary>
    public Task SuspendAsync() => Task.Run(() => Started.Freeze());

    public Task ResumeAsync() => Task.Run(() => Started.Thaw());

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.StopAsync(save: false);
            await _server.DisposeAsync();
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// A real redis-server for one benchmark run: started on a free loopback port without persistence, connected in admin
/// mode (for <c>INFO commandstats</c>), stopped on dispose. Shared by the benchmarks that measure the Redis store.
/// </summary>
internal sealed class LocalRedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private LocalRedisServer(Process process, ConnectionMultiplexer connection)
    {
        _process = process;
        Connection = connection;
        Server = connection.GetServer(connection.GetEndPoints()[0]);
    }

    public ConnectionMultiplexer Connection { get; }

    public IServer Server { get; }

    public static async Task<LocalRedisServer> StartAsync()
    {
        var port = FreePort();
        var process = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
        })!;
        process.BeginOutputReadLine();
        try
        {
            return new LocalRedisServer(process, await ConnectWithRetryAsync($"127.0.0.1:{port},allowAdmin=true"));
        }
        catch
        {
            // A benchmark's clean-up does not run after a failed set-up: the server would outlive the run.
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>Counts the record reads (<c>HMGET</c>) the server has answered so far.</summary>
    public async Task<long> RecordReadsAsync()
    {
        var info = await Server.InfoAsync("commandstats");
        var hmget = info.SelectMany(group => group).FirstOrDefault(pair => pair.Key == "cmdstat_hmget").Value;
        return hmget is null ? 0 : long.Parse(hmget.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<ConnectionMultiplexer> ConnectWithRetryAsync(string configuration)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync(configuration);
            }
            catch (RedisConnectionException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }
}

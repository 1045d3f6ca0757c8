using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Internal.TokenManagement;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// <see cref="IPitchlyTokenManager.GetAccessTokenAsync"/> with the Redis store, cycling over <see cref="Users"/> users
/// whose tokens are valid and were each read once in set-up: what a cached token costs as the population grows. Redis
/// is a real redis-server started on a free port for the run (no persistence); the record reads (<c>HMGET</c>) it
/// answered during the run are printed at clean-up, per call (one a call means the L1 stopped caching).
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class RedisL1PopulationBenchmarks
{
    private readonly FakePitchlyHandler _tokenEndpoint = new();
    private ServiceProvider _services = null!;
    private IPitchlyTokenManager _manager = null!;
    private Process _redisServer = null!;
    private ConnectionMultiplexer _redis = null!;
    private IServer _server = null!;
    private PitchlyTokenKey[] _keys = null!;
    private int _next;
    private long _calls;
    private long _readsAfterSetup;

    [Params(1_000, 10_000, 100_000)]
    public int Users { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var port = FreePort();
        _redisServer = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
        })!;
        _redisServer.BeginOutputReadLine();
        try
        {
            await SeedAsync(port);
        }
        catch
        {
            // Clean-up does not run after a failed set-up: the server would outlive the run.
            _redisServer.Kill();
            throw;
        }
    }

    private async Task SeedAsync(int port)
    {
        // Admin mode for INFO commandstats, which counts the record reads.
        _redis = await ConnectWithRetryAsync($"127.0.0.1:{port},allowAdmin=true");
        _server = _redis.GetServer(_redis.GetEndPoints()[0]);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(
            _ => _redis,
            options =>
            {
                options.AllowUnsharedDataProtectionKeys = true;
                options.AssumeNoReplicas = true;
                options.L1MaxAge = TimeSpan.FromMinutes(30);
            });
        services.AddHttpClient(PitchlyTokenClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _tokenEndpoint);
        services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
        _services = services.BuildServiceProvider();
        var store = _services.GetRequiredService<IPitchlyTokenStore>();
        _manager = _services.GetRequiredService<IPitchlyTokenManager>();
        _keys = Enumerable.Range(0, Users).Select(i => PitchlyTokenKey.ForUser("org-7", $"person-{i}")).ToArray();
        var now = TimeProvider.System.GetUtcNow();
        foreach (var chunk in _keys.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(async key => await store.SetAsync(
                key,
                new PitchlyTokenRecord { AccessToken = CannedPitchly.AccessToken, RefreshToken = "refresh", IssuedAt = now, ExpiresAt = now.AddHours(10) })));
        }

        foreach (var key in _keys)
        {
            await _manager.GetAccessTokenAsync(key);
        }

        _readsAfterSetup = await RecordReadsAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        var reads = await RecordReadsAsync() - _readsAfterSetup;
        Console.WriteLine($"// Users={Users}: {_calls} calls, {reads} Redis record reads, {(double)reads / Math.Max(1, _calls):F4} a call");
        if (_tokenEndpoint.Requests != 0)
        {
            throw new InvalidOperationException($"The token endpoint was called {_tokenEndpoint.Requests} times: the stored tokens were not used.");
        }

        await _services.DisposeAsync();
        await _redis.DisposeAsync();
        _redisServer.Kill();
        await _redisServer.WaitForExitAsync();
        _redisServer.Dispose();
    }

    [Benchmark]
    public ValueTask<PitchlyAccessToken> CachedTokenAcrossUsers()
    {
        var index = _next;
        _next = index + 1 == _keys.Length ? 0 : index + 1;
        _calls++;
        return _manager.GetAccessTokenAsync(_keys[index]);
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

    /// <summary>Counts the record reads (<c>HMGET</c>) the server has answered so far.</summary>
    private async Task<long> RecordReadsAsync()
    {
        var info = await _server.InfoAsync("commandstats");
        var hmget = info.SelectMany(group => group).FirstOrDefault(pair => pair.Key == "cmdstat_hmget").Value;
        return hmget is null ? 0 : long.Parse(hmget.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture);
    }
}

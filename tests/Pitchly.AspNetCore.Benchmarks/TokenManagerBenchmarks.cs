using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// <see cref="IPitchlyTokenManager.GetAccessTokenAsync"/> for a user whose token is valid and outside the renewal
/// window: with the in-memory store, and with the Redis store answering from its in-process L1 (a real redis-server
/// started for the run, <see cref="LocalRedisServer"/>; no record read may reach it while the benchmark runs).
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class TokenManagerBenchmarks
{
    private static readonly PitchlyTokenKey Key = PitchlyTokenKey.ForUser("org-7", "person-42");
    private readonly FakePitchlyHandler _tokenEndpoint = new();
    private ServiceProvider _inMemory = null!;
    private ServiceProvider _redis = null!;
    private IPitchlyTokenManager _inMemoryManager = null!;
    private IPitchlyTokenManager _redisManager = null!;
    private LocalRedisServer _redisServer = null!;
    private long _readsAfterSetup;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _inMemory = CreateServices(static _ => { });
        _redisServer = await LocalRedisServer.StartAsync();
        try
        {
            _redis = CreateServices(services =>
            {
                services.AddPitchlyTokenManagement().AddRedis(
                    _ => _redisServer.Connection,
                    options =>
                    {
                        options.AllowUnsharedDataProtectionKeys = true;

                        // One server, no replicas: a write need not ask it for its replicas first.
                        options.AssumeNoReplicas = true;

                        // Longer than the run, so the count of record reads below stays exactly zero (the default
                        // 30 s would add one re-read every 30 s).
                        options.L1MaxAge = TimeSpan.FromMinutes(30);
                    });
                services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
            });

            _inMemoryManager = await SeedAsync(_inMemory);
            _redisManager = await SeedAsync(_redis);

            // The first read fills the L1 (one record read); every read after it must be served from memory.
            await _redisManager.GetAccessTokenAsync(Key);
            _readsAfterSetup = await _redisServer.RecordReadsAsync();
            await _redisManager.GetAccessTokenAsync(Key);
            await EnsureNoRecordReadSinceSetupAsync();
        }
        catch
        {
            // Clean-up does not run after a failed set-up: the server would outlive the run.
            await _redisServer.DisposeAsync();
            throw;
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await EnsureNoRecordReadSinceSetupAsync();
        if (_tokenEndpoint.Requests != 0)
        {
            throw new InvalidOperationException($"The token endpoint was called {_tokenEndpoint.Requests} times: the cached token was not used.");
        }

        await _inMemory.DisposeAsync();
        await _redis.DisposeAsync();
        await _redisServer.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<PitchlyAccessToken> InMemoryStore() => _inMemoryManager.GetAccessTokenAsync(Key);

    [Benchmark]
    public ValueTask<PitchlyAccessToken> RedisStoreL1Hit() => _redisManager.GetAccessTokenAsync(Key);

    /// <summary>Reference point: the SHA-256 of the key that the Redis store computes to name its L1 entry.</summary>
    [Benchmark]
    public int Sha256OfKey()
    {
        Span<byte> utf8 = stackalloc byte[64];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        return SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(Key.Value, utf8)], digest);
    }

    private static async Task<IPitchlyTokenManager> SeedAsync(ServiceProvider services)
    {
        var now = TimeProvider.System.GetUtcNow();
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(
            Key,
            new PitchlyTokenRecord { AccessToken = CannedPitchly.AccessToken, RefreshToken = "refresh", IssuedAt = now, ExpiresAt = now.AddHours(10) });
        var manager = services.GetRequiredService<IPitchlyTokenManager>();
        if ((await manager.GetAccessTokenAsync(Key)).Value != CannedPitchly.AccessToken)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: the manager does not return the stored token.");
        }

        return manager;
    }

    private ServiceProvider CreateServices(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement();
        services.AddHttpClient(PitchlyTokenClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _tokenEndpoint);
        configure(services);
        return services.BuildServiceProvider();
    }

    private async Task EnsureNoRecordReadSinceSetupAsync()
    {
        var reads = await _redisServer.RecordReadsAsync() - _readsAfterSetup;
        if (reads != 0)
        {
            throw new InvalidOperationException($"{reads} Redis record reads for a token cached in the L1.");
        }
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// <see cref="IPitchlyTokenManager.GetAccessTokenAsync"/> cycling round-robin over <see cref="Users"/> users whose tokens
/// are valid and cached: what a cached token costs as the population grows, with the in-memory store and with the Redis
/// store's L1. Beside them, rows that isolate each step of the lookup over the same keys in the same order: hashing the
/// key alone (what touching N different keys costs anyone), a bare <see cref="ConcurrentDictionary{TKey,TValue}"/> of
/// records (the floor for any keyed cache), <c>Microsoft.Extensions.Caching.Memory</c> with a size limit (the
/// alternative structure), and each store's <c>GetAsync</c> without the manager.
/// </summary>
/// <remarks>
/// Redis is a real redis-server started on a free port for the run (no persistence); the record reads (<c>HMGET</c>) it
/// answered during the run are printed at clean-up, per call (any at all means the L1 stopped caching).
/// </remarks>
[Config(typeof(PopulationJob))]
[MemoryDiagnoser]
public class PopulationBenchmarks
{
    private readonly FakePitchlyHandler _tokenEndpoint = new();
    private PitchlyTokenKey[] _keys = null!;
    private int _next;
    private long _calls;

    private ServiceProvider? _services;
    private IPitchlyTokenManager _manager = null!;
    private IPitchlyTokenStore _store = null!;
    private LocalRedisServer? _redis;
    private long _readsAfterSetup;

    private ConcurrentDictionary<string, PitchlyTokenRecord> _dictionary = null!;
    private MemoryCache _memoryCache = null!;

    /// <summary>The populations measured: PITCHLY_BENCH_USERS (comma-separated) or 1,000 to 1,000,000.</summary>
    public static IEnumerable<int> Populations =>
        Environment.GetEnvironmentVariable("PITCHLY_BENCH_USERS") is { Length: > 0 } users
            ? users.Split(',').Select(u => int.Parse(u, CultureInfo.InvariantCulture))
            : [1_000, 10_000, 100_000, 1_000_000];

    [ParamsSource(nameof(Populations))]
    public int Users { get; set; }

    [GlobalSetup(Targets = [nameof(KeyHashOnly)])]
    public void SetupKeys() => _keys = CreateKeys(Users);

    [GlobalSetup(Targets = [nameof(ConcurrentDictionaryLookup)])]
    public void SetupDictionary()
    {
        SetupKeys();
        _dictionary = new ConcurrentDictionary<string, PitchlyTokenRecord>(StringComparer.Ordinal);
        foreach (var key in _keys)
        {
            _dictionary[key.Value] = NewRecord();
        }
    }

    [GlobalSetup(Targets = [nameof(MemoryCacheLookup)])]
    public void SetupMemoryCache()
    {
        SetupKeys();

        // Size-limited, one unit an entry, room for all: the configuration that bounds it as the L1 is bounded.
        _memoryCache = new MemoryCache(new MemoryCacheOptions { SizeLimit = Users * 2L, TrackStatistics = false });
        foreach (var key in _keys)
        {
            _memoryCache.Set(key.Value, NewRecord(), new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(30) });
        }

        if (_memoryCache.Count != Users)
        {
            throw new InvalidOperationException($"The memory cache holds {_memoryCache.Count} of {Users} entries.");
        }
    }

    [GlobalSetup(Targets = [nameof(InMemoryStoreGet), nameof(InMemoryStoreManager), nameof(InMemoryStoreManagerColdKey)])]
    public async Task SetupInMemoryAsync()
    {
        SetupKeys();
        var services = NewServices();
        _services = services.BuildServiceProvider();
        await SeedAsync();
    }

    [GlobalSetup(Targets = [nameof(RedisL1Get), nameof(RedisL1Manager), nameof(RedisL1ManagerColdKey)])]
    public async Task SetupRedisAsync()
    {
        if (Users > 100_000 && Environment.GetEnvironmentVariable("PITCHLY_BENCH_REDIS_MILLION") != "1")
        {
            // Writing and reading a million records through Redis takes many minutes on 2 shared cores: on request only.
            throw new NotSupportedException("Redis rows above 100,000 users run only with PITCHLY_BENCH_REDIS_MILLION=1.");
        }

        SetupKeys();
        _redis = await LocalRedisServer.StartAsync();
        try
        {
            var services = NewServices();
            services.AddPitchlyTokenManagement().AddRedis(
                _ => _redis.Connection,
                options =>
                {
                    options.AllowUnsharedDataProtectionKeys = true;
                    options.AssumeNoReplicas = true;
                    options.L1MaxAge = TimeSpan.FromMinutes(30);

                    // The default budget (256 MiB) holds at least 100,000 records; a million need more.
                    if (Users > 100_000)
                    {
                        options.L1MaxBytes = 4L * 1024 * 1024 * 1024;
                    }
                });
            services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
            _services = services.BuildServiceProvider();
            await SeedAsync();
            _readsAfterSetup = await _redis.RecordReadsAsync();
        }
        catch
        {
            // Clean-up does not run after a failed set-up: the server would outlive the run.
            await _redis.DisposeAsync();
            throw;
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_redis is not null)
        {
            var reads = await _redis.RecordReadsAsync() - _readsAfterSetup;
            Console.WriteLine($"// Users={Users}: {_calls} calls, {reads} Redis record reads, {(double)reads / Math.Max(1, _calls):F4} a call");
        }

        if (_tokenEndpoint.Requests != 0)
        {
            throw new InvalidOperationException($"The token endpoint was called {_tokenEndpoint.Requests} times: the stored tokens were not used.");
        }

        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        _memoryCache?.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    /// <summary>Hashes the next key's value and nothing else: the part of every row that touching a different key costs.</summary>
    [Benchmark]
    public int KeyHashOnly() => StringComparer.Ordinal.GetHashCode(NextKey().Value);

    /// <summary>A bare dictionary of records by key value, and the record's expiry read: the floor for a keyed cache.</summary>
    [Benchmark]
    public DateTimeOffset ConcurrentDictionaryLookup() => _dictionary.TryGetValue(NextKey().Value, out var record) ? record.ExpiresAt : default;

    /// <summary><c>MemoryCache</c> with a size limit, one unit an entry, sliding expiration (the alternative structure).</summary>
    [Benchmark]
    public DateTimeOffset MemoryCacheLookup() => _memoryCache.TryGetValue(NextKey().Value, out PitchlyTokenRecord? record) ? record!.ExpiresAt : default;

    [Benchmark]
    public ValueTask<PitchlyTokenRecord?> InMemoryStoreGet() => _store.GetAsync(NextKey());

    [Benchmark]
    public ValueTask<PitchlyAccessToken> InMemoryStoreManager() => _manager.GetAccessTokenAsync(NextKey());

    /// <summary>
    /// <see cref="InMemoryStoreManager"/> with the key object's lookup hint cleared before each call: what a caller that
    /// makes a new key object for every call pays (the store's index is read). The default user key accessor reuses its
    /// last key for the same user, so a user's consecutive calls on one client take the hinted path.
    /// </summary>
    [Benchmark]
    public ValueTask<PitchlyAccessToken> InMemoryStoreManagerColdKey() => _manager.GetAccessTokenAsync(NextColdKey());

    [Benchmark]
    public ValueTask<PitchlyTokenRecord?> RedisL1Get() => _store.GetAsync(NextKey());

    [Benchmark]
    public ValueTask<PitchlyAccessToken> RedisL1Manager() => _manager.GetAccessTokenAsync(NextKey());

    /// <summary><see cref="RedisL1Manager"/> with the key object's lookup hint cleared before each call (see <see cref="InMemoryStoreManagerColdKey"/>).</summary>
    [Benchmark]
    public ValueTask<PitchlyAccessToken> RedisL1ManagerColdKey() => _manager.GetAccessTokenAsync(NextColdKey());

    private PitchlyTokenKey NextKey()
    {
        var index = _next;
        _next = index + 1 == _keys.Length ? 0 : index + 1;
        _calls++;
        return _keys[index];
    }

    private PitchlyTokenKey NextColdKey()
    {
        var key = NextKey();
        key.LookupHint = null;
        return key;
    }

    private static PitchlyTokenKey[] CreateKeys(int users) =>
        Enumerable.Range(0, users).Select(i => PitchlyTokenKey.ForUser("org-7", $"person-{i}")).ToArray();

    private static PitchlyTokenRecord NewRecord()
    {
        var now = TimeProvider.System.GetUtcNow();
        return new PitchlyTokenRecord { AccessToken = CannedPitchly.AccessToken, RefreshToken = "refresh", IssuedAt = now, ExpiresAt = now.AddHours(10) };
    }

    private ServiceCollection NewServices()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement();
        services.AddHttpClient(PitchlyTokenClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _tokenEndpoint);
        return services;
    }

    /// <summary>Writes every user's record through the store, then reads each once through the manager (filling the L1).</summary>
    private async Task SeedAsync()
    {
        _store = _services!.GetRequiredService<IPitchlyTokenStore>();
        _manager = _services!.GetRequiredService<IPitchlyTokenManager>();
        foreach (var chunk in _keys.Chunk(256))
        {
            await Task.WhenAll(chunk.Select(async key => await _store.SetAsync(key, NewRecord())));
        }

        foreach (var chunk in _keys.Chunk(256))
        {
            await Task.WhenAll(chunk.Select(async key =>
            {
                if ((await _manager.GetAccessTokenAsync(key)).Value != CannedPitchly.AccessToken)
                {
                    throw new InvalidOperationException("Benchmark set-up check failed: the manager does not return the stored token.");
                }
            }));
        }

        // A read that raced with the announcement of its own record's write declined to cache it (the L1's rule): one
        // more pass, one call at a time, so every record is cached before the round trips are counted.
        foreach (var key in _keys)
        {
            await _manager.GetAccessTokenAsync(key);
        }
    }
}

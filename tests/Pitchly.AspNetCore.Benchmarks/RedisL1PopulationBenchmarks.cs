using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// <see cref="IPitchlyTokenManager.GetAccessTokenAsync"/> with the Redis store, cycling over <see cref="Users"/> users
/// whose tokens are valid and were each read once in set-up: what a cached token costs as the population grows. The
/// connection is the in-memory fake, which counts round trips; <see cref="RoundTripsPerCall"/> is reported at clean-up
/// (one Redis read a call means the L1 stopped caching).
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class RedisL1PopulationBenchmarks
{
    private readonly FakePitchlyHandler _tokenEndpoint = new();
    private ServiceProvider _services = null!;
    private IPitchlyTokenManager _manager = null!;
    private FakeRedis _fakeRedis = null!;
    private PitchlyTokenKey[] _keys = null!;
    private int _next;
    private long _calls;
    private int _roundTripsAfterSetup;

    [Params(1_000, 10_000, 100_000)]
    public int Users { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _fakeRedis = FakeRedis.Create();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(
            _ => _fakeRedis.Multiplexer,
            options =>
            {
                options.AllowUnsharedDataProtectionKeys = true;
                options.L1MaxAge = TimeSpan.FromMinutes(30);
            });
        services.AddHttpClient(PitchlyTokenClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => _tokenEndpoint);
        services.Replace(ServiceDescriptor.Singleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider()));
        _services = services.BuildServiceProvider();
        var store = _services.GetRequiredService<IPitchlyTokenStore>();
        _manager = _services.GetRequiredService<IPitchlyTokenManager>();
        _keys = Enumerable.Range(0, Users).Select(i => PitchlyTokenKey.ForUser("org-7", $"person-{i}")).ToArray();
        var now = TimeProvider.System.GetUtcNow();
        foreach (var key in _keys)
        {
            await store.SetAsync(key, new PitchlyTokenRecord { AccessToken = CannedPitchly.AccessToken, RefreshToken = "refresh", IssuedAt = now, ExpiresAt = now.AddHours(10) });
        }

        foreach (var key in _keys)
        {
            await _manager.GetAccessTokenAsync(key);
        }

        _roundTripsAfterSetup = _fakeRedis.RoundTrips;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        var roundTrips = _fakeRedis.RoundTrips - _roundTripsAfterSetup;
        Console.WriteLine($"// Users={Users}: {_calls} calls, {roundTrips} Redis round trips, {(double)roundTrips / Math.Max(1, _calls):F4} a call");
        if (_tokenEndpoint.Requests != 0)
        {
            throw new InvalidOperationException($"The token endpoint was called {_tokenEndpoint.Requests} times: the stored tokens were not used.");
        }

        await _services.DisposeAsync();
    }

    /// <summary>Gets the Redis round trips per call since set-up (printed at clean-up).</summary>
    public double RoundTripsPerCall => (double)(_fakeRedis.RoundTrips - _roundTripsAfterSetup) / Math.Max(1, _calls);

    [Benchmark]
    public ValueTask<PitchlyAccessToken> CachedTokenAcrossUsers()
    {
        var index = _next;
        _next = index + 1 == _keys.Length ? 0 : index + 1;
        _calls++;
        return _manager.GetAccessTokenAsync(_keys[index]);
    }
}

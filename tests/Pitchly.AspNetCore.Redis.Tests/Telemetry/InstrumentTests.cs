using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Pitchly.AspNetCore.Redis.Tests.Telemetry;

/// <summary>
/// Every instrument of the <see cref="PitchlyTelemetry.MeterName"/> meter reports, with the documented unit and attribute
/// names, while two instances in Redis mode go through a refresh storm, lock contention, a lost lock, a compare-and-swap
/// conflict and a Redis outage against the emulator.
/// </summary>
public sealed class InstrumentTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    /// <summary>The documented instruments (docs/telemetry.md): name, unit, whether a histogram.</summary>
    private static readonly (string Name, string Unit, bool Histogram)[] Instruments =
    [
        ("pitchly.token.refreshes", "{refresh}", false),
        ("pitchly.token.refresh.duration", "ms", true),
        ("pitchly.token.requests", "{request}", false),
        ("pitchly.lock.wait_time", "ms", true),
        ("pitchly.lock.lost", "{lock}", false),
        ("pitchly.store.cas_conflicts", "{conflict}", false),
        ("pitchly.http.invalid_token_retries", "{retry}", false),
        ("pitchly.store.unavailable", "{operation}", false),
    ];

    private readonly string _prefix = $"t{Guid.NewGuid():N}"[..12];
    private readonly string _keyRing = Directory.CreateTempSubdirectory("pitchly-keys-").FullName;
    private readonly List<EmulatedInstance> _instances = [];
    private readonly List<IDisposable> _collectors = [];
    private readonly List<(string Name, Func<IReadOnlyList<(object Value, IReadOnlyDictionary<string, object?> Tags)>> Snapshot, Instrument Instrument)> _recorded = [];
    private PitchlyEmulatorServer _emulator = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);

    public async ValueTask DisposeAsync()
    {
        foreach (var collector in _collectors)
        {
            collector.Dispose();
        }

        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Every_instrument_reports_with_its_documented_unit_and_attribute_names_during_a_storm_and_lock_contention()
    {
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(_emulator, PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var first = Instance(key);
        var second = Instance(key);
        await first.Store.SetAsync(key, record, Cancel);

        // A refresh storm: Pitchly kills the access token under 40 concurrent calls on two instances.
        _emulator.Emulator.InvalidateAccessTokens();
        var calls = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? first : second).GraphQL
            .SendAsync<ViewerData>(new("{ viewer { person { id } } }"), Cancel));
        var answers = await Task.WhenAll(calls);
        Assert.All(answers, answer => Assert.Equal(key.PersonId, answer.GetDataOrThrow().Viewer.Person.Id));
        Assert.Equal(0, _emulator.Emulator.GetStats().RefreshTokenReuse);

        // Lock contention: one instance holds the key's lock past the other's wait timeout.
        var impatient = Instance(key, o => o.LockWaitTimeout = TimeSpan.FromMilliseconds(300));
        await using (await first.Services.GetRequiredService<IPitchlyRefreshLock>().AcquireAsync(key, Cancel))
        {
            await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () =>
                await impatient.Services.GetRequiredService<IPitchlyRefreshLock>().AcquireAsync(key, Cancel));
        }

        // A lost lock: another party takes the key of a held lock.
        var shortLease = Instance(key, o => o.LockLease = TimeSpan.FromMilliseconds(600));
        await using (var held = await shortLease.Services.GetRequiredService<IPitchlyRefreshLock>().AcquireAsync(key, Cancel))
        {
            var lockKey = Assert.Single(redis.AdminServer.Keys(pattern: $"{_prefix}:*:lock:*"));
            await redis.Admin.GetDatabase().StringSetAsync(lockKey, "another-owner", TimeSpan.FromMilliseconds(300));
            var lost = new TaskCompletionSource();
            await using var registration = held.LockLost.Register(() => lost.TrySetResult());
            await lost.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        }

        // A compare-and-swap conflict: the user signs in again while a refresh waits for Pitchly's answer.
        var (_, newer) = await EmulatedInstance.SignInAtEmulatorAsync(_emulator, PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var current = (await first.Store.GetAsync(key, Cancel))!;
        var requestsBefore = _emulator.Emulator.GetStats().TokenRequests;
        _emulator.Emulator.Configure(o => o.Latency = TimeSpan.FromMilliseconds(700));
        var refresh = first.Manager.RefreshAsync(key, current.AccessToken, Cancel);
        await Eventually.HoldsAsync(() => Task.FromResult(_emulator.Emulator.GetStats().TokenRequests > requestsBefore), TimeSpan.FromSeconds(10), "the refresh reached the token endpoint");
        await second.Store.SetAsync(key, newer, Cancel);
        await refresh;
        _emulator.Emulator.Configure(o => o.Latency = TimeSpan.Zero);

        // Redis goes away: a read that no cache can serve fails.
        await redis.StopAsync();
        try
        {
            await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () =>
                await second.Store.GetAsync(PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, "psnNobodyAtAll000001"), Cancel));
        }
        finally
        {
            await redis.StartAsync();
        }

        foreach (var (name, unit, _) in Instruments)
        {
            var measurements = _recorded.Where(r => r.Name == name).SelectMany(r => r.Snapshot()).ToList();
            Assert.True(measurements.Count > 0, $"{name} reported nothing.");
            Assert.All(_recorded.Where(r => r.Name == name), r => Assert.Equal(unit, r.Instrument.Unit));
            Assert.All(_recorded.Where(r => r.Name == name), r => Assert.False(string.IsNullOrEmpty(r.Instrument.Description)));
            foreach (var (_, tags) in measurements)
            {
                Assert.All(tags.Keys, tag => Assert.Matches("^(pitchly\\.[a-z_.]+|error\\.type)$", tag));
                if (tags.TryGetValue("pitchly.outcome", out var outcome) && outcome is not ("refreshed" or "reused_newer" or "acquired" or "success"))
                {
                    Assert.Equal(outcome, tags["error.type"]);
                }
                else
                {
                    Assert.False(tags.ContainsKey("error.type"), $"{name} has error.type on a success.");
                }
            }
        }

        var refreshes = Measurements("pitchly.token.refreshes");
        Assert.Contains(refreshes, m => (string?)m.Tags["pitchly.outcome"] == "refreshed" && (string?)m.Tags["pitchly.token.kind"] == "User");
        Assert.Contains(Measurements("pitchly.token.requests"), m => (string?)m.Tags["pitchly.oauth.grant_type"] == "refresh_token" && (string?)m.Tags["pitchly.outcome"] == "success");
        var waits = Measurements("pitchly.lock.wait_time");
        Assert.Contains(waits, m => (string?)m.Tags["pitchly.outcome"] == "acquired");
        Assert.Contains(waits, m => (string?)m.Tags["pitchly.outcome"] == "timeout" && (string?)m.Tags["error.type"] == "timeout");
        Assert.True(Measurements("pitchly.http.invalid_token_retries").Sum(m => (long)m.Value) >= 40);
    }

    private List<(object Value, IReadOnlyDictionary<string, object?> Tags)> Measurements(string name) =>
        _recorded.Where(r => r.Name == name).SelectMany(r => r.Snapshot()).ToList();

    private EmulatedInstance Instance(PitchlyTokenKey key, Action<PitchlyRedisOptions>? configure = null)
    {
        var instance = EmulatedInstance.Create(redis, _emulator, _prefix, _keyRing, key, configure);
        _instances.Add(instance);
        var meterFactory = instance.Services.GetRequiredService<IMeterFactory>();
        instance.Services.GetRequiredService<Pitchly.AspNetCore.Internal.PitchlyMetrics>(); // creates the instruments
        foreach (var (name, _, histogram) in Instruments)
        {
            if (histogram)
            {
                var collector = new MetricCollector<double>(meterFactory, PitchlyTelemetry.MeterName, name);
                _collectors.Add(collector);
                _recorded.Add((name, () => collector.GetMeasurementSnapshot().Select(m => ((object)m.Value, (IReadOnlyDictionary<string, object?>)m.Tags)).ToList(), collector.Instrument!));
            }
            else
            {
                var collector = new MetricCollector<long>(meterFactory, PitchlyTelemetry.MeterName, name);
                _collectors.Add(collector);
                _recorded.Add((name, () => collector.GetMeasurementSnapshot().Select(m => ((object)m.Value, (IReadOnlyDictionary<string, object?>)m.Tags)).ToList(), collector.Instrument!));
            }
        }

        return instance;
    }
}

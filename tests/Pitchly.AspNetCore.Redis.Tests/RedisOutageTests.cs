using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RedisOutageTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _keyRing = Directory.CreateTempSubdirectory("pitchly-keys-").FullName;
    private TestApp? _app;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-1", "person-1");

    [Fact]
    public async Task Stopped_redis_fails_fast_with_a_retryable_error_and_works_again_after_restart()
    {
        _app = TestApp.Create(redis, "outage", _keyRing);
        var health = _app.Services.GetRequiredService<HealthCheckService>();
        await _app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(Cancel)).Status);

        await redis.StopAsync();
        var elapsed = Stopwatch.StartNew();
        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await _app.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel));
        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await _app.Store.GetAsync(PitchlyTokenKey.ForInstall("org-1"), Cancel));
        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await _app.Lock.AcquireAsync(User, Cancel));
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"failed after {elapsed.Elapsed}");
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(Cancel)).Status);

        await redis.StartAsync();
        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    return (await _app.Store.SetAsync(User, Records.Create("access-3", "refresh-3"), Cancel)).Version > 0;
                }
                catch (PitchlyTokenStoreUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(15),
            "writes succeed once Redis is back");
        Assert.Equal("access-3", (await _app.Store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(Cancel)).Status);
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        Directory.Delete(_keyRing, recursive: true);
    }
}

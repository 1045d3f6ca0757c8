using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The in-memory store stays bounded: records idle for the time-to-live go (a timer sweeps them, a read finds them
/// expired), and past the cap the least recently used records are evicted; an evicted user must sign in again.
/// </summary>
public sealed class InMemoryStoreBoundsTests
{
    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Records_idle_for_the_time_to_live_are_swept_and_a_read_or_write_keeps_one()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Services(time, o => o.InMemoryRecordTimeToLive = TimeSpan.FromMinutes(10));
        var store = (InMemoryPitchlyTokenStore)services.GetRequiredService<IPitchlyTokenStore>();
        var read = User("psn_read");
        await store.SetAsync(read, Record(time), Cancel);
        for (var user = 0; user < 100; user++)
        {
            await store.SetAsync(User($"psn_{user}"), Record(time), Cancel);
        }

        time.Advance(TimeSpan.FromMinutes(6));
        Assert.NotNull(await store.GetAsync(read, Cancel));
        time.Advance(TimeSpan.FromMinutes(5));

        // The timer swept the hundred idle records without a read of them; the one read 5 minutes ago stays.
        Assert.Equal(1, store.Count);
        Assert.Null(await store.GetAsync(User("psn_7"), Cancel));
        Assert.NotNull(await store.GetAsync(read, Cancel));

        // A read finds a record expired even before the sweep comes round.
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(await store.GetAsync(read, Cancel));
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task A_read_extends_a_record_to_within_a_second_so_reads_of_a_busy_record_write_nothing()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Services(time, o => o.InMemoryRecordTimeToLive = TimeSpan.FromMinutes(10));
        var store = (InMemoryPitchlyTokenStore)services.GetRequiredService<IPitchlyTokenStore>();
        var busy = User("psn_busy");
        var idle = User("psn_idle");
        await store.SetAsync(busy, Record(time), Cancel);
        await store.SetAsync(idle, Record(time), Cancel);

        // Less than a second after the write, a read leaves the last use as it was.
        time.Advance(InMemoryPitchlyTokenStore.MaxTouchGranularity / 2);
        Assert.NotNull(await store.GetAsync(idle, Cancel));

        // A second after it, a read records its time.
        time.Advance(InMemoryPitchlyTokenStore.MaxTouchGranularity);
        Assert.NotNull(await store.GetAsync(busy, Cancel));

        // The time-to-live after the write: the record read too soon to count is gone; the other lives on.
        time.Advance(TimeSpan.FromMinutes(10) - (InMemoryPitchlyTokenStore.MaxTouchGranularity * 1.5));
        Assert.Null(await store.GetAsync(idle, Cancel));
        Assert.NotNull(await store.GetAsync(busy, Cancel));
    }

    [Fact]
    public async Task Past_the_cap_the_least_recently_used_records_are_evicted()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Services(time, o => o.InMemoryMaxRecords = 3);
        var store = (InMemoryPitchlyTokenStore)services.GetRequiredService<IPitchlyTokenStore>();
        foreach (var name in new[] { "psn_1", "psn_2", "psn_3" })
        {
            await store.SetAsync(User(name), Record(time), Cancel);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(await store.GetAsync(User("psn_1"), Cancel));
        time.Advance(TimeSpan.FromSeconds(1));
        await store.SetAsync(User("psn_4"), Record(time), Cancel);

        await Eventually.HoldsAsync(() => store.Count == 3, TimeSpan.FromSeconds(30), "the eviction runs");
        Assert.Null(await store.GetAsync(User("psn_2"), Cancel));
        Assert.NotNull(await store.GetAsync(User("psn_1"), Cancel));
        Assert.NotNull(await store.GetAsync(User("psn_3"), Cancel));
        Assert.NotNull(await store.GetAsync(User("psn_4"), Cancel));
    }

    [Fact]
    public async Task A_user_whose_record_expired_is_asked_to_sign_in_again()
    {
        await using var app = await TestServices.SignInAtFakeAsync(Alice, options: o => o.InMemoryRecordTimeToLive = TimeSpan.FromMinutes(10));
        Assert.Equal(app.Stored.AccessToken, (await app.Manager.GetAccessTokenAsync(Alice, Cancel)).Value);

        // The access token would still serve for 49 minutes, but the record is gone.
        app.Time.Advance(TimeSpan.FromMinutes(11));
        var signIn = await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => app.Manager.GetAccessTokenAsync(Alice, Cancel).AsTask());
        Assert.Equal(Alice, signIn.Key);
    }

    [Theory]
    [InlineData(0, 0, "InMemoryRecordTimeToLive")]
    [InlineData(60, -1, "InMemoryMaxRecords")]
    public void The_bounds_are_validated(int timeToLiveSeconds, int maxRecords, string named)
    {
        var result = new ValidatePitchlyTokenManagementOptions().Validate(null, new PitchlyTokenManagementOptions
        {
            TokenEndpoint = "https://platform.pitchly.com/api/oauth/token",
            InMemoryRecordTimeToLive = TimeSpan.FromSeconds(timeToLiveSeconds),
            InMemoryMaxRecords = maxRecords,
        });

        Assert.True(result.Failed);
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
    }

    private static ServiceProvider Services(FakeTimeProvider time, Action<PitchlyTokenManagementOptions> options)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPitchlyTokenManagement(options);
        return services.BuildServiceProvider();
    }

    private static PitchlyTokenKey User(string person) => PitchlyTokenKey.ForUser("org_1", person);

    private static PitchlyTokenRecord Record(FakeTimeProvider time) => new()
    {
        AccessToken = "at_" + Guid.NewGuid().ToString("N"),
        RefreshToken = "rt_" + Guid.NewGuid().ToString("N"),
        ExpiresAt = time.GetUtcNow().AddHours(1),
    };
}

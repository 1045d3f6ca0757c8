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

    [Fact]
    public async Task A_map_the_sweep_finds_mostly_empty_is_replaced_by_a_right_sized_copy_that_keeps_every_record()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Services(time, o => o.InMemoryRecordTimeToLive = TimeSpan.FromMinutes(10));
        var store = (InMemoryPitchlyTokenStore)services.GetRequiredService<IPitchlyTokenStore>();
        var kept = new Dictionary<PitchlyTokenKey, PitchlyTokenRecord>();
        for (var user = 0; user < 2_000; user++)
        {
            var written = await store.SetAsync(User($"psn_{user}"), Record(time), Cancel);
            if (user % 5 == 0)
            {
                kept[User($"psn_{user}")] = written;
            }
        }

        // A fifth of the users come back; the sweep takes the others and, with a fifth of the peak left, swaps the map.
        time.Advance(TimeSpan.FromMinutes(6));
        foreach (var key in kept.Keys)
        {
            Assert.NotNull(await store.GetAsync(key, Cancel));
        }

        time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(1, store.Shrinks);
        Assert.Equal(kept.Count, store.Count);
        Assert.Equal(kept.Count, store.Peak);
        foreach (var (key, written) in kept)
        {
            Assert.Equal(written, await store.GetAsync(key, Cancel));
        }

        // The copy takes writes as the original did, and the next sweep, with nothing more to give back, keeps it.
        var first = kept.First();
        Assert.NotNull(await store.TryReplaceAsync(first.Key, first.Value.Version, Record(time), Cancel));
        Assert.True(await store.RemoveAsync(kept.Last().Key, cancellationToken: Cancel));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, store.Shrinks);
    }

    [Fact]
    public async Task Writes_and_reads_racing_with_the_swap_lose_no_write_and_miss_no_stored_record()
    {
        const int iterations = 150;
        const int peak = 1_600;
        const int kept = 300;
        const int removed = 100;
        const int replaced = 100;
        const int added = 50;
        using var store = new InMemoryPitchlyTokenStore(TimeProvider.System);
        var time = new FakeTimeProvider(TestServices.Start);
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var keys = Enumerable.Range(0, peak).Select(i => User($"psn_{iteration}_{i}")).ToArray();
            var written = new PitchlyTokenRecord[peak];
            for (var i = 0; i < peak; i++)
            {
                written[i] = await store.SetAsync(keys[i], Record(time), Cancel);
            }

            for (var i = kept; i < peak; i++)
            {
                Assert.True(await store.RemoveAsync(keys[i], cancellationToken: Cancel));
            }

            // Of the records kept, some are removed during the swap, some replaced (compare-and-swap), the rest only
            // read; new users are written meanwhile. Every participant starts at the barrier, together with the sweep.
            var toAdd = Enumerable.Range(0, added).Select(i => User($"psn_{iteration}_new_{i}")).ToArray();
            var replacements = new PitchlyTokenRecord?[replaced];
            var addedRecords = new PitchlyTokenRecord[added];
            var removals = new bool[removed];
            var misses = 0;
            var sweeping = 1;
            var swapsBefore = store.Shrinks;
            using var start = new Barrier(5);
            await Task.WhenAll(
                Run(() =>
                {
                    store.Sweep();
                    Volatile.Write(ref sweeping, 0);
                }),
                Run(() =>
                {
                    for (var i = 0; i < removed; i++)
                    {
                        removals[i] = store.RemoveAsync(keys[i], written[i].Version).AsTask().GetAwaiter().GetResult();
                    }
                }),
                Run(() =>
                {
                    for (var i = 0; i < replaced; i++)
                    {
                        var at = removed + i;
                        replacements[i] = store.TryReplaceAsync(keys[at], written[at].Version, Record(time)).AsTask().GetAwaiter().GetResult();
                    }

                    for (var i = 0; i < added; i++)
                    {
                        addedRecords[i] = store.SetAsync(toAdd[i], Record(time)).AsTask().GetAwaiter().GetResult();
                    }
                }),
                Run(() => ReadKept(forward: true)),
                Run(() => ReadKept(forward: false)));

            Assert.Equal(swapsBefore + 1, store.Shrinks);
            Assert.Equal(0, misses);
            Assert.All(removals, removal => Assert.True(removal));
            Assert.All(replacements, replacement => Assert.NotNull(replacement));
            for (var i = 0; i < removed; i++)
            {
                Assert.Null(await store.GetAsync(keys[i], Cancel));
            }

            for (var i = 0; i < replaced; i++)
            {
                Assert.Equal(replacements[i], await store.GetAsync(keys[removed + i], Cancel));
            }

            for (var i = removed + replaced; i < kept; i++)
            {
                Assert.Equal(written[i], await store.GetAsync(keys[i], Cancel));
            }

            for (var i = 0; i < added; i++)
            {
                Assert.Equal(addedRecords[i], await store.GetAsync(toAdd[i], Cancel));
            }

            Assert.Equal(kept - removed + added, store.Count);
            foreach (var key in keys[removed..kept].Concat(toAdd))
            {
                Assert.True(await store.RemoveAsync(key, cancellationToken: Cancel));
            }

            Assert.Equal(0, store.Count);

            void ReadKept(bool forward)
            {
                do
                {
                    for (var n = removed + replaced; n < kept; n++)
                    {
                        var i = forward ? n : kept - 1 + removed + replaced - n;
                        if (store.GetAsync(keys[i]).AsTask().GetAwaiter().GetResult() is null)
                        {
                            Interlocked.Increment(ref misses);
                        }
                    }
                }
                while (Volatile.Read(ref sweeping) == 1);
            }

            Task Run(Action work) => StartTogether.Run(start, work, Cancel);
        }
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

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>The store, the lock and the announcements through Redis Sentinel, with failovers forced while they work.</summary>
[Collection(nameof(SentinelFailoverCollection))]
public sealed class SentinelFailoverTests(RedisSentinel sentinel) : RedisTestScope('s'), IClassFixture<RedisSentinel>
{

    private static PitchlyTokenKey User(int number) => PitchlyTokenKey.ForUser("org-s", $"person-{number}");

    [Fact]
    public async Task The_store_contract_and_the_announcements_hold_through_sentinel_across_instances_with_their_own_connections()
    {
        var first = App();
        var second = App(CrossInstanceContract.WaitWithoutPolling);
        var key = User(1000);

        await CrossInstanceContract.AssertHoldsAsync(first, second, key, Cancel);

        // Another instance's write evicts the reader's cached copy.
        var keys = Enumerable.Range(2000, 20).Select(User).ToList();
        await AssertWritesEvictCachedCopiesAsync(first, second, keys, "1", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Announcements_still_evict_cached_copies_after_a_failover()
    {
        var writer = App();
        var reader = App();
        var keys = Enumerable.Range(3000, 20).Select(User).ToList();
        await AssertWritesEvictCachedCopiesAsync(writer, reader, keys, "before", TimeSpan.FromSeconds(5));

        var primary = await sentinel.FailoverAsync();
        await WaitUntilBothWorkAsync(writer, reader, primary);

        // The demoted primary drops its clients as the failover settles; the reader trusts its cache again only once
        // every connection that failed is restored.
        await AssertWritesEvictCachedCopiesAsync(writer, reader, keys, "after", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task The_store_and_the_announcements_work_through_the_new_primary_after_the_primary_is_killed()
    {
        var writer = App();
        var reader = App();
        var keys = Enumerable.Range(4000, 20).Select(User).ToList();
        await AssertWritesEvictCachedCopiesAsync(writer, reader, keys, "before", TimeSpan.FromSeconds(5));

        // SIGKILL: the sentinels see the primary down after a second and promote a replica; the node comes back as a
        // replica of the new primary.
        var primary = await sentinel.Group.KillPrimaryAsync(Cancel);
        await WaitUntilBothWorkAsync(writer, reader, primary);
        await AssertWritesEvictCachedCopiesAsync(writer, reader, keys, "after", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Refreshes_through_several_instances_spend_no_refresh_token_twice_across_two_forced_failovers()
    {
        const int Users = 9;
        const int Instances = 3;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.GeneratedUsers = Users, Cancel);
        var people = RefreshLoad.LoadUsers(emulator);

        var logs = new CapturedLogs();

        // A failover takes seconds, in which a refresh holding the lock cannot finish; its waiters wait it out.
        var instances = Enumerable.Range(0, Instances)
            .Select(i => Own(EmulatedInstance.Create(
                sentinel.Configuration,
                emulator,
                Prefix,
                KeyRing,
                User(0),
                redis => redis.LockWaitTimeout = TimeSpan.FromSeconds(30),
                logs: i == 1 ? logs : null)))
            .ToList();
        var keys = await RefreshLoad.SignInAsync(emulator, people, instances[0], Cancel);

        var load = RefreshLoad.Start(instances, keys, Cancel);

        // Two failovers with the refreshes running: the primary moves to a replica, then on again.
        await Eventually.HoldsAsync(
            () => Task.FromResult(load.Refreshed > keys.Count),
            TimeSpan.FromSeconds(10),
            "refreshes go on before the first failover");
        var primaries = new List<int> { await sentinel.Group.PrimaryPortAsync(Cancel) };
        var refreshedBefore = load.Refreshed;
        primaries.Add(await sentinel.FailoverAsync());
        await Task.Delay(1000, Cancel);
        primaries.Add(await sentinel.FailoverAsync());
        var refreshedAtSecondFailover = load.Refreshed;

        // The farm recovers: refreshes go on against the third primary.
        var recovery = Stopwatch.StartNew();
        while (load.Refreshed <= refreshedAtSecondFailover + keys.Count && recovery.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, Cancel);
        }

        var refreshedAfterSecondFailover = load.Refreshed - refreshedAtSecondFailover;
        var recoveryTime = recovery.Elapsed;
        await Task.Delay(500, Cancel);
        await load.StopAsync();

        var stats = emulator.Emulator.GetStats();
        var report = $"{load.Refreshed} refreshes ({refreshedBefore} before the first failover, {refreshedAtSecondFailover} by the end of the second, "
            + $"{refreshedAfterSecondFailover} within {recoveryTime.TotalSeconds:0.0} s after it), "
            + $"{stats.RefreshGrants} refresh grants, {stats.RefreshTokenReuse} refresh tokens reused, {stats.RevokedFamilies} families revoked, "
            + $"{load.Failures.Count} failures; primaries {string.Join(" → ", primaries)}. Failures: "
            + string.Join("; ", load.Failures.GroupBy(f => $"{f.GetType().Name}: {f.Message}").OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} × {g.Key}").Take(10))
            + "\nLog of instance 2 (warnings):\n"
            + string.Join("\n", logs.Entries.Where(e => e.Level >= LogLevel.Warning).TakeLast(30));
        TestContext.Current.SendDiagnosticMessage(report);
        Assert.True(refreshedAfterSecondFailover > keys.Count, $"The farm did not recover after the second failover: {report}");
        // Each failover moved the primary (Sentinel may choose the first primary again the second time).
        Assert.NotEqual(primaries[0], primaries[1]);
        Assert.NotEqual(primaries[1], primaries[2]);
        Assert.True(stats.RefreshTokenReuse == 0, report);
        Assert.True(stats.RevokedFamilies == 0, report);
        Assert.True(refreshedBefore > 0 && stats.RefreshGrants > keys.Count, report);
        load.AssertOnlyRetryableFailures(report);

        // Once settled, every instance reads the latest record through the new primary.
        await RefreshLoad.AssertSettledAsync(instances[0], instances[1], keys, Cancel);
    }

    /// <summary>
    /// Waits until a write on one instance is read on the other: the connections follow the sentinels to the new
    /// primary, and until they do, calls fail as retryable.
    /// </summary>
    private static async Task WaitUntilBothWorkAsync(TestApp writer, TestApp reader, int primary)
    {
        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    await writer.Store.SetAsync(User(2999), Records.Create("access-probe", "refresh-probe"), Cancel);
                    return await reader.Store.GetAsync(User(2999), Cancel) is not null;
                }
                catch (PitchlyTokenStoreUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(15),
            $"both instances work against the new primary {primary}");

        // The probe's record is not one of the records whose cached copies the tests count.
        reader.RedisStore.EvictLocalCopy(User(2999));
    }

    /// <summary>
    /// Writes as an application retrying a 503 would: right after a failover, writes fail retryably until the replicas
    /// have re-attached to the new primary and acknowledge them.
    /// </summary>
    private static async Task SetRetryingAsync(TestApp writer, PitchlyTokenKey key, PitchlyTokenRecord record)
    {
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await writer.Store.SetAsync(key, record, Cancel);
                return;
            }
            catch (PitchlyTokenStoreUnavailableException) when (elapsed.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100, Cancel);
            }
        }
    }

    /// <summary>The reader caches every record, then the writer's writes evict every cached copy.</summary>
    private static async Task AssertWritesEvictCachedCopiesAsync(TestApp writer, TestApp reader, IReadOnlyList<PitchlyTokenKey> keys, string generation, TimeSpan within)
    {
        foreach (var key in keys)
        {
            await SetRetryingAsync(writer, key, Records.Create($"access-{generation}-1", $"refresh-{generation}-1"));
        }

        // A read that an announcement overtakes is not cached: read again until every write's announcement is in.
        await Eventually.HoldsAsync(
            async () =>
            {
                foreach (var key in keys)
                {
                    await reader.Store.GetAsync(key, Cancel);
                }

                return reader.RedisStore.CachedCount == keys.Count;
            },
            within,
            $"the reader caches every record ({generation})");
        foreach (var key in keys)
        {
            await SetRetryingAsync(writer, key, Records.Create($"access-{generation}-2", $"refresh-{generation}-2"));
        }

        await Eventually.HoldsAsync(() => Task.FromResult(reader.RedisStore.CachedCount == 0), TimeSpan.FromSeconds(5), $"every cached copy is evicted ({generation})");
        foreach (var key in keys)
        {
            Assert.Equal($"access-{generation}-2", (await reader.Store.GetAsync(key, Cancel))!.AccessToken);
        }
    }

    private TestApp App(Action<PitchlyRedisOptions>? configure = null) => Own(TestApp.Create(sentinel.Configuration, Prefix, KeyRing, configure));
}

using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RedisTokenStoreTests(RedisServer redis) : RedisTestScope('t'), IClassFixture<RedisServer>
{
    private const string OrganizationId = "org-4f7d1c";
    private const string PersonId = "person-93ab2e";

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser(OrganizationId, PersonId);

    private static PitchlyTokenKey Install => PitchlyTokenKey.ForInstall(OrganizationId, "db-77c1");

    [Fact]
    public async Task Stored_record_round_trips_with_a_store_assigned_version()
    {
        var store = App().Store;
        var written = await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        var read = await store.GetAsync(User, Cancel);

        Assert.NotNull(read);
        Assert.True(written.Version > 0);
        Assert.Equal(written, read);
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForUser(OrganizationId, "someone-else"), Cancel));
    }

    [Fact]
    public async Task Redis_holds_no_token_and_no_id_in_plaintext()
    {
        var store = App().Store;
        const string accessToken = "access-Zq8v1xK3mW";
        const string refreshToken = "refresh-Hp2s9LrT4e";
        await store.SetAsync(User, Records.Create(accessToken, refreshToken), Cancel);
        await store.SetAsync(PitchlyTokenKey.ForInstall(OrganizationId, "db-77c1"), Records.Create(accessToken, refreshToken), Cancel);

        var keys = redis.AdminServer.Keys(pattern: $"{Prefix}:*").Select(key => key.ToString()).ToList();
        var recordKeys = keys.Where(key => key.StartsWith($"{Prefix}:", StringComparison.Ordinal) && key.Contains(":tok:", StringComparison.Ordinal)).ToList();

        Assert.Equal(2, recordKeys.Count);
        Assert.All(keys, key => Assert.DoesNotContain(OrganizationId, key, StringComparison.Ordinal));
        Assert.All(keys, key => Assert.DoesNotContain(PersonId, key, StringComparison.Ordinal));
        Assert.All(keys, key => Assert.DoesNotContain("db-77c1", key, StringComparison.Ordinal));
        foreach (var key in recordKeys)
        {
            var fields = await redis.Admin.GetDatabase().HashGetAllAsync(key);
            Assert.Equal(["d", "v"], fields.Select(field => field.Name.ToString()).Order());
            foreach (var field in fields)
            {
                var raw = System.Text.Encoding.Latin1.GetString((byte[])field.Value!);
                Assert.DoesNotContain("access-", raw, StringComparison.Ordinal);
                Assert.DoesNotContain("refresh-", raw, StringComparison.Ordinal);
                Assert.DoesNotContain("Zq8v1xK3mW", raw, StringComparison.Ordinal);
                Assert.DoesNotContain(OrganizationId, raw, StringComparison.Ordinal);
            }

            var timeToLive = await redis.Admin.GetDatabase().KeyTimeToLiveAsync(key);
            Assert.InRange(timeToLive!.Value, TimeSpan.FromDays(29), TimeSpan.FromDays(30));
        }
    }

    [Fact]
    public async Task Compare_and_swap_rejects_a_stale_version_and_keeps_the_newer_record()
    {
        var store = App().Store;
        var first = await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        var second = await store.TryReplaceAsync(User, first.Version, Records.Create("access-2", "refresh-2"), Cancel);

        var stale = await store.TryReplaceAsync(User, first.Version, Records.Create("access-stale", "refresh-stale"), Cancel);
        var createWhenPresent = await store.TryReplaceAsync(User, 0, Records.Create("access-new", "refresh-new"), Cancel);

        Assert.NotNull(second);
        Assert.True(second.Version > first.Version);
        Assert.Null(stale);
        Assert.Null(createWhenPresent);
        Assert.Equal("access-2", (await store.GetAsync(User, Cancel))?.AccessToken);
        Assert.NotNull(await store.TryReplaceAsync(PitchlyTokenKey.ForInstall(OrganizationId), 0, Records.Create("a", "r"), Cancel));
    }

    [Fact]
    public async Task Concurrent_writers_on_two_instances_never_lose_the_newer_record()
    {
        var apps = new[] { App(), App() };
        await apps[0].Store.SetAsync(User, Records.Create("access-0", "refresh-0"), Cancel);
        var successes = new ConcurrentBag<(long Version, string AccessToken)>();

        await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
        {
            var store = apps[writer % 2].Store;
            var ownVersions = new List<long>();
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var current = await store.GetAsync(User, Cancel);
                var token = $"access-{writer}-{attempt}";
                var written = await store.TryReplaceAsync(User, current!.Version, Records.Create(token, $"refresh-{writer}-{attempt}"), Cancel);
                if (written is not null)
                {
                    successes.Add((written.Version, token));
                    ownVersions.Add(written.Version);
                }
            }

            Assert.Equal(ownVersions.Order(), ownVersions);
        }, Cancel)));

        var final = await apps[1].Store.GetAsync(User, Cancel);
        var newest = successes.MaxBy(success => success.Version);
        Assert.NotEmpty(successes);
        Assert.Equal(successes.Count, successes.Select(success => success.Version).Distinct().Count());
        Assert.Equal(newest.Version, final!.Version);
        Assert.Equal(newest.AccessToken, final.AccessToken);
    }

    [Fact]
    public async Task Remove_with_an_expected_version_removes_only_that_version_and_versions_never_repeat()
    {
        var store = App().Store;
        var first = await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        var second = await store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);

        Assert.False(await store.RemoveAsync(User, first.Version, Cancel));
        Assert.NotNull(await store.GetAsync(User, Cancel));
        Assert.True(await store.RemoveAsync(User, second.Version, Cancel));
        Assert.Null(await store.GetAsync(User, Cancel));
        Assert.False(await store.RemoveAsync(User, cancellationToken: Cancel));

        var recreated = await store.SetAsync(User, Records.Create("access-3", "refresh-3"), Cancel);
        Assert.True(recreated.Version > second.Version);
        Assert.Null(await store.TryReplaceAsync(User, second.Version, Records.Create("access-aba", "refresh-aba"), Cancel));
        Assert.True(await store.RemoveAsync(User, cancellationToken: Cancel));
    }

    [Fact]
    public async Task Record_moved_to_another_key_does_not_decrypt_and_is_treated_as_absent()
    {
        var store = App().Store;
        var victim = PitchlyTokenKey.ForUser(OrganizationId, "victim");
        await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await store.SetAsync(victim, Records.Create("access-v", "refresh-v"), Cancel);
        var database = redis.Admin.GetDatabase();
        var recordKeys = redis.AdminServer.Keys(pattern: $"{Prefix}:*:tok:*").ToList();
        var userKey = recordKeys.Single(key => key.ToString().EndsWith(Hash(User), StringComparison.Ordinal));
        var victimKey = recordKeys.Single(key => key.ToString().EndsWith(Hash(victim), StringComparison.Ordinal));

        await database.HashSetAsync(victimKey, "d", await database.HashGetAsync(userKey, "d"));
        var other = App();

        Assert.Null(await other.Store.GetAsync(victim, Cancel));
        Assert.False(await database.HashExistsAsync(victimKey, "d"));
        Assert.Equal("access-1", (await other.Store.GetAsync(User, Cancel))?.AccessToken);
    }

    [Fact]
    public async Task A_record_from_another_key_ring_is_logged_removed_and_replaced_by_the_next_sign_in()
    {
        var foreign = App(keyRing: Directory.CreateDirectory(Path.Combine(KeyRing, "foreign")).FullName);
        var written = await foreign.Store.SetAsync(User, Records.Create("access-foreign-Xk2", "refresh-foreign-Jq7"), Cancel);

        // The instances of the old key ring are gone, and so is any key check one of them may have written in the
        // background (a connection event starts one): the live instances share keys, which is what lets a record of
        // another key ring be removed. DataProtectionKeyCheckTests covers a live instance with other keys.
        await foreign.DisposeAsync();
        await redis.Admin.GetDatabase().KeyDeleteAsync($"{Prefix}:dp-canary");
        var logs = new CapturedLogs();
        var app = App(logs: logs);
        var recordKey = redis.AdminServer.Keys(pattern: $"{Prefix}:*:tok:*").Single();

        Assert.Null(await app.Store.GetAsync(User, Cancel));
        Assert.Null(await app.Store.GetAsync(User, Cancel));

        Assert.False(await redis.Admin.GetDatabase().HashExistsAsync(recordKey, "d"));
        var undecryptable = Assert.Single(logs.Entries, entry => entry.EventId == 3012);
        Assert.Contains(Hash(User), undecryptable.Message, StringComparison.Ordinal);
        Assert.Contains($"version {written.Version}", undecryptable.Message, StringComparison.Ordinal);
        Assert.IsType<CryptographicException>(undecryptable.Exception, exactMatch: false);
        Assert.All(logs.Entries, entry => Assert.DoesNotContain("foreign-", entry.ToString(), StringComparison.Ordinal));

        var signedInAgain = await app.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
        Assert.True(signedInAgain.Version > written.Version);
        Assert.Equal("access-2", (await app.Store.GetAsync(User, Cancel))?.AccessToken);
    }

    [Fact]
    public async Task Removing_an_undecryptable_record_spares_a_newer_record_written_since_it_was_read()
    {
        var foreign = App(keyRing: Directory.CreateDirectory(Path.Combine(KeyRing, "foreign")).FullName);
        await foreign.Store.SetAsync(User, Records.Create("access-foreign", "refresh-foreign"), Cancel);
        await foreign.DisposeAsync();
        await redis.Admin.GetDatabase().KeyDeleteAsync($"{Prefix}:dp-canary"); // the old key ring's instances are gone
        var writer = App();
        var removals = 0;
        var app = App(logs: new CapturedLogs(entry =>
        {
            // Runs between the read that found the record undecryptable and its compare-and-delete.
            if (entry.EventId == 3012 && Interlocked.Increment(ref removals) == 1)
            {
                writer.Store.SetAsync(User, Records.Create("access-new", "refresh-new"), Cancel).AsTask().GetAwaiter().GetResult();
            }
        }));

        Assert.Null(await app.Store.GetAsync(User, Cancel));

        Assert.Equal("access-new", (await app.Store.GetAsync(User, Cancel))?.AccessToken);
    }

    [Fact]
    public async Task Cached_read_completes_synchronously_and_is_evicted_when_another_instance_writes()
    {
        var writer = App();
        var reader = App();
        await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        Assert.Equal("access-1", (await reader.Store.GetAsync(User, Cancel))?.AccessToken);

        // The writer's own announcement can reach the reader while its first read is in flight, which rightly keeps
        // that read out of the cache; the next read then caches it.
        await Eventually.HoldsAsync(
            async () =>
            {
                var read = reader.Store.GetAsync(User, Cancel);
                var synchronous = read.IsCompletedSuccessfully;
                Assert.Equal("access-1", (await read)?.AccessToken);
                return synchronous;
            },
            TimeSpan.FromSeconds(5),
            "a cached read that completes synchronously");
        Assert.Equal(1, reader.RedisStore.CachedCount);

        await writer.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);

        // L1MaxAge is ten minutes here, so only the announcement can make the reader see the new record.
        await Eventually.HoldsAsync(
            async () => (await reader.Store.GetAsync(User, Cancel))?.AccessToken == "access-2",
            TimeSpan.FromSeconds(5),
            "the reader sees the record another instance wrote");
        await writer.Store.RemoveAsync(User, cancellationToken: Cancel);
        await Eventually.HoldsAsync(
            async () => await reader.Store.GetAsync(User, Cancel) is null,
            TimeSpan.FromSeconds(5),
            "the reader sees the removal");
    }

    [Fact]
    public async Task The_hot_path_is_handed_the_cached_entry_only_while_the_cache_would_serve_it_and_reads_after_an_announcement()
    {
        var writer = App();
        var reader = App();
        var held = Assert.IsAssignableFrom<IHeldRecordStore>(reader.Store);
        var first = await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        // Not cached yet: no entry, and the read goes to Redis.
        Assert.Null(held.TryGetHeld(User, TimeProvider.System.GetUtcNow()));
        Assert.Equal("access-1", (await held.GetUnheldAsync(User, Cancel))?.AccessToken);

        // Cached (the first read may have raced with the write's own announcement, which keeps it out): the entry is the
        // cached record's, and the answer is what GetAsync returns.
        HeldRecord? entry = null;
        await Eventually.HoldsAsync(
            async () =>
            {
                entry = held.TryGetHeld(User, TimeProvider.System.GetUtcNow());
                if (entry is null)
                {
                    // A miss reads from Redis, and caches what it read unless an announcement came meanwhile.
                    await held.GetUnheldAsync(User, Cancel);
                }

                return entry is not null;
            },
            TimeSpan.FromSeconds(5),
            "the record is cached");
        Assert.Equal(first.Version, entry!.Record.Version);
        Assert.Equal(entry.Record, await reader.Store.GetAsync(User, Cancel));
        Assert.Equal(entry.Record.ToAccessToken(), entry.ToAccessToken());

        // Another instance writes: its announcement drops the entry, and the next call reads the new record from Redis.
        await writer.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
        await Eventually.HoldsAsync(
            async () =>
            {
                var record = held.TryGetHeld(User, TimeProvider.System.GetUtcNow())?.Record ?? await held.GetUnheldAsync(User, Cancel);
                return record?.AccessToken == "access-2";
            },
            TimeSpan.FromSeconds(5),
            "the reader's hot path sees the record another instance wrote");

        await writer.Store.RemoveAsync(User, cancellationToken: Cancel);
        await Eventually.HoldsAsync(
            async () =>
            {
                return held.TryGetHeld(User, TimeProvider.System.GetUtcNow()) is null && await held.GetUnheldAsync(User, Cancel) is null;
            },
            TimeSpan.FromSeconds(5),
            "the reader's hot path sees the removal");
    }

    [Fact]
    public async Task The_hash_remembered_for_a_cached_record_goes_with_it_when_another_instance_writes()
    {
        var writer = App();
        var reader = App();
        await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await writer.Store.SetAsync(Install, Records.Create("install-1", "refresh-1"), Cancel);
        Assert.Equal("access-1", (await reader.Store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal("install-1", (await reader.Store.GetAsync(Install, Cancel))?.AccessToken);
        Assert.Equal(2, reader.RedisStore.CachedCount);
        Assert.Equal(2, reader.RedisStore.RememberedHashCount);

        await writer.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);

        // Announcements name the hash only: the entry found by it goes, and so does the hash kept for its key.
        await Eventually.HoldsAsync(
            () => Task.FromResult(reader.RedisStore.CachedCount == 1 && reader.RedisStore.RememberedHashCount == 1),
            TimeSpan.FromSeconds(5),
            "the announcement evicts the record and its remembered hash");
        Assert.Equal("install-1", (await reader.Store.GetAsync(Install, Cancel))?.AccessToken);
        Assert.Equal("access-2", (await reader.Store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal(2, reader.RedisStore.RememberedHashCount);
    }

    [Fact]
    public async Task Reconnecting_clears_the_in_process_cache()
    {
        var app = App();
        await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await app.Store.GetAsync(User, Cancel) is not null && app.RedisStore.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the record is cached once its own write's announcement has passed");

        await redis.AdminServer.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        await redis.AdminServer.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal");

        await Eventually.HoldsAsync(
            () => Task.FromResult(app.RedisStore.CachedCount == 0 && app.RedisStore.RememberedHashCount == 0),
            TimeSpan.FromSeconds(10),
            "the cache is cleared");
        await Eventually.HoldsAsync(
            async () => (await TryGetAsync(app))?.AccessToken == "access-1",
            TimeSpan.FromSeconds(10),
            "reads work again after reconnecting");
    }

    [Fact]
    public async Task A_read_paused_before_caching_while_another_instance_wrote_does_not_serve_the_replaced_record_to_the_lock_holder()
    {
        var writer = App();
        var holder = App();
        await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await CacheMarkerAsync(writer, holder);
        var paused = new PausedRead(holder, CacheInsertStage.BeforeInsert);
        var slowRead = Task.Run(async () => await holder.Store.GetAsync(User, Cancel), Cancel);
        await paused.Reached.WaitAsync(TimeSpan.FromSeconds(5), Cancel);

        var replaced = await writer.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
        await AnnouncementsHeardAsync(writer, holder);
        await using var handle = await holder.Lock.AcquireAsync(User, Cancel);
        paused.Resume();
        Assert.Equal("access-1", (await slowRead)?.AccessToken);

        var reRead = await holder.Store.GetAsync(User, Cancel);
        Assert.Equal(replaced.Version, reRead?.Version);
    }

    [Fact]
    public async Task The_lock_holders_re_read_is_never_served_by_a_read_that_started_before_the_lock_was_acquired()
    {
        var writer = App();
        var holder = App();
        await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await CacheMarkerAsync(writer, holder);
        var beforeInsert = new PausedRead(holder, CacheInsertStage.BeforeInsert);
        var slowRead = Task.Run(async () => await holder.Store.GetAsync(User, Cancel), Cancel);
        await beforeInsert.Reached.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        var replaced = await writer.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
        await AnnouncementsHeardAsync(writer, holder);
        await using var handle = await holder.Lock.AcquireAsync(User, Cancel);

        // The slow read's stale copy is now in the cache, not yet checked against the acquisition's eviction.
        var afterInsert = new PausedRead(holder, CacheInsertStage.AfterInsert);
        beforeInsert.Resume();
        await afterInsert.Reached.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        var reRead = await holder.Store.GetAsync(User, Cancel);
        afterInsert.Resume();
        await slowRead;

        Assert.Equal(replaced.Version, reRead?.Version);
        Assert.Equal("refresh-2", reRead?.RefreshToken);
    }

    [Fact]
    public async Task Cached_records_older_than_the_maximum_age_leave_memory_even_when_never_read_again()
    {
        var app = App(options => options.L1MaxAge = TimeSpan.FromMilliseconds(300));
        await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await app.Store.GetAsync(User, Cancel) is not null && app.RedisStore.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the record is cached");

        await Eventually.HoldsAsync(
            () => Task.FromResult(app.RedisStore.CachedCount == 0 && app.RedisStore.RememberedHashCount == 0),
            TimeSpan.FromSeconds(5),
            "the expired record and its remembered hash are swept");
    }

    [Fact]
    public async Task The_cache_holds_no_more_records_than_its_maximum_and_reads_beyond_it_still_answer()
    {
        var app = App(options => options.L1MaxEntries = 1);
        await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await app.Store.SetAsync(Install, Records.Create("install-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await app.Store.GetAsync(User, Cancel) is not null && app.RedisStore.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the first record is cached");

        Assert.Equal("install-1", (await app.Store.GetAsync(Install, Cancel))?.AccessToken);
        Assert.Equal("install-1", (await app.Store.GetAsync(Install, Cancel))?.AccessToken);

        Assert.Equal(1, app.RedisStore.CachedCount);
        Assert.Equal(1, app.RedisStore.RememberedHashCount);
    }

    [Theory]
    [InlineData("bytes")]
    [InlineData("entries")]
    public async Task A_full_cache_still_caches_new_keys_by_evicting_others_so_a_working_set_within_its_bound_needs_no_round_trip(string bound)
    {
        const int capacity = 100;
        var keys = Enumerable.Range(0, 2 * capacity).Select(i => PitchlyTokenKey.ForUser(OrganizationId, $"person-{i:D4}")).ToArray();
        var record = Records.Create("access-1", "refresh-1");
        var entrySize = L1RecordCache.EstimateSize(keys[0].Value, Hash(keys[0]), record);
        var app = App(options =>
        {
            if (bound == "bytes")
            {
                options.L1MaxBytes = capacity * entrySize;
            }
            else
            {
                options.L1MaxEntries = capacity;
            }
        });
        var meterFactory = app.Services.GetRequiredService<IMeterFactory>();
        using var hits = new MetricCollector<long>(meterFactory, PitchlyTelemetry.MeterName, "pitchly.store.cache.hits");
        using var misses = new MetricCollector<long>(meterFactory, PitchlyTelemetry.MeterName, "pitchly.store.cache.misses");
        using var evictions = new MetricCollector<long>(meterFactory, PitchlyTelemetry.MeterName, "pitchly.store.cache.evictions");
        foreach (var key in keys)
        {
            await app.Store.SetAsync(key, record, Cancel);
        }

        // Two passes over twice the capacity: the cache fills, then keeps taking new keys and stays within its bound.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var key in keys)
            {
                Assert.Equal("access-1", (await app.Store.GetAsync(key, Cancel))?.AccessToken);
            }
        }

        Assert.InRange(app.RedisStore.CachedCount, 1, capacity);
        Assert.InRange(app.RedisStore.CachedBytes, 1, capacity * entrySize);

        // A working set of half the capacity, among the keys read last (a cache that declines new keys once full holds
        // the first ones): after a pass that caches it, a pass over it sends no command to Redis.
        var workingSet = keys[^(capacity / 2)..];
        long lastPassReads = -1;
        await Eventually.HoldsAsync(
            async () =>
            {
                foreach (var key in workingSet)
                {
                    await app.Store.GetAsync(key, Cancel);
                }

                var before = await RecordReadsAsync();
                foreach (var key in workingSet)
                {
                    Assert.Equal("access-1", (await app.Store.GetAsync(key, Cancel))?.AccessToken);
                }

                lastPassReads = await RecordReadsAsync() - before;
                return lastPassReads == 0;
            },
            TimeSpan.FromSeconds(20),
            "a pass over the working set is answered from memory");
        Assert.Equal(0, lastPassReads);
        Assert.InRange(app.RedisStore.CachedCount, workingSet.Length, capacity);
        Assert.InRange(app.RedisStore.RememberedHashCount, workingSet.Length, capacity);
        Assert.True(evictions.GetMeasurementSnapshot().EvaluateAsCounter() >= capacity, "evictions made room for new keys");
        Assert.True(hits.GetMeasurementSnapshot().EvaluateAsCounter() >= workingSet.Length, "the last pass was counted as hits");
        Assert.True(misses.GetMeasurementSnapshot().EvaluateAsCounter() >= keys.Length, "the first pass was counted as misses");
    }

    [Fact]
    public async Task Concurrent_reads_through_a_small_full_cache_each_get_their_own_key_and_the_cache_stays_within_its_bound()
    {
        const int capacity = 20;
        var keys = Enumerable.Range(0, 5 * capacity).Select(i => PitchlyTokenKey.ForUser(OrganizationId, $"person-{i:D4}")).ToArray();
        var app = App(options => options.L1MaxEntries = capacity);
        foreach (var (key, i) in keys.Select((key, i) => (key, i)))
        {
            await app.Store.SetAsync(key, Records.Create($"access-{i}", $"refresh-{i}"), Cancel);
        }

        var readers = Enumerable.Range(0, 4).Select(reader => Task.Run(
            async () =>
            {
                var random = new Random(reader);
                for (var call = 0; call < 500; call++)
                {
                    // Mostly a hot quarter of the keys, sometimes any key, so entries are both hit and evicted.
                    var i = random.Next(4) == 0 ? random.Next(keys.Length) : random.Next(capacity / 2);
                    Assert.Equal($"access-{i}", (await app.Store.GetAsync(keys[i], Cancel))?.AccessToken);
                }
            },
            Cancel));
        await Task.WhenAll(readers);

        Assert.InRange(app.RedisStore.CachedCount, 1, capacity);
        Assert.InRange(app.RedisStore.CachedBytes, 1, capacity * L1RecordCache.EstimateSize(keys[^1].Value, Hash(keys[^1]), Records.Create("access-99", "refresh-99")));
    }

    /// <summary>Counts the record reads (<c>HMGET</c>) the server has answered so far.</summary>
    private async Task<long> RecordReadsAsync()
    {
        var info = await redis.AdminServer.InfoAsync("commandstats");
        var hmget = info.SelectMany(group => group).FirstOrDefault(pair => pair.Key == "cmdstat_hmget").Value;
        if (hmget is null)
        {
            return 0;
        }

        var calls = hmget.Split(',')[0];
        return long.Parse(calls["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<PitchlyTokenRecord?> TryGetAsync(TestApp app)
    {
        try
        {
            return await app.Store.GetAsync(User, Cancel);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            return null;
        }
    }

    /// <summary>Has <paramref name="reader"/> cache another key, whose eviction later shows announcements were heard.</summary>
    private static async Task CacheMarkerAsync(TestApp writer, TestApp reader)
    {
        await writer.Store.SetAsync(Install, Records.Create("install-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await reader.Store.GetAsync(Install, Cancel) is not null && reader.RedisStore.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the marker record is cached");
    }

    /// <summary>Waits until <paramref name="reader"/> heard every announcement made so far (they arrive in order).</summary>
    private static async Task AnnouncementsHeardAsync(TestApp writer, TestApp reader)
    {
        await writer.Store.SetAsync(Install, Records.Create("install-2", "refresh-2"), Cancel);
        await Eventually.HoldsAsync(
            () => Task.FromResult(reader.RedisStore.CachedCount == 0),
            TimeSpan.FromSeconds(5),
            "the marker's eviction is heard");
    }

    private static string Hash(PitchlyTokenKey key) => RedisKeyNames.Hash(key);

    [Fact]
    public async Task A_waiter_at_another_instances_fence_is_woken_by_the_owners_write_and_its_cached_copy_is_dropped()
    {
        var owner = App().Store;
        var waiting = App();
        var written = await owner.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        Assert.Equal(written.Version, (await waiting.Store.GetAsync(User, Cancel))!.Version); // cached by the waiter
        var fenced = await owner.TryBeginRefreshAsync(User, written.Version, "owner-a", TimeSpan.FromSeconds(30), Cancel);
        Assert.NotNull(fenced);

        // The intent is not announced; the write of the owner's tokens is, and it is what the waiter waits for.
        var woken = Stopwatch.StartNew();
        var wait = ((Pitchly.AspNetCore.Internal.ITokenChangeSignal)waiting.Store).WaitForChangeAsync(User, TimeSpan.FromSeconds(20), Cancel);
        await Task.Delay(100, Cancel);
        var replaced = await owner.TryReplaceAsync(User, fenced.Version, Records.Create("access-2", "refresh-2"), Cancel);
        await wait.WaitAsync(TimeSpan.FromSeconds(5), Cancel);

        Assert.True(woken.Elapsed < TimeSpan.FromSeconds(5), $"woken after {woken.Elapsed}");
        await Eventually.HoldsAsync(
            async () => (await waiting.Store.GetAsync(User, Cancel))!.Version == replaced!.Version,
            TimeSpan.FromSeconds(5),
            "the waiter reads the owner's tokens");
        Assert.Equal(0, waiting.RedisStore.ChangeWaiterCount);
    }

    [Fact]
    public async Task A_live_fence_refuses_every_other_owner_on_the_servers_clock_lapses_at_its_deadline_and_any_write_clears_it()
    {
        var first = App().Store;
        var second = App().Store;
        var written = await first.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        var fenced = await first.TryBeginRefreshAsync(User, written.Version, "owner-a", TimeSpan.FromSeconds(2), Cancel);
        Assert.NotNull(fenced);
        Assert.Equal("owner-a", fenced.RefreshIntent!.Owner);
        Assert.Equal("refresh-1", fenced.RefreshToken);

        // Another instance sees the intent and, whatever its own clock says, cannot take the record over while it lives.
        var seen = await second.GetAsync(User, Cancel);
        Assert.Equal(fenced.Version, seen!.Version);
        Assert.Equal(fenced.RefreshIntent, seen.RefreshIntent);
        Assert.Null(await second.TryBeginRefreshAsync(User, seen.Version, "owner-b", TimeSpan.FromSeconds(2), Cancel));
        Assert.Null(await second.TryBeginRefreshAsync(User, written.Version, "owner-b", TimeSpan.FromSeconds(2), Cancel));

        // Once the server's clock passes the deadline, the record can be claimed.
        await Task.Delay(TimeSpan.FromSeconds(2.2), Cancel);
        var claimed = await second.TryBeginRefreshAsync(User, seen.Version, "owner-b", TimeSpan.FromSeconds(30), Cancel);
        Assert.Equal("owner-b", claimed!.RefreshIntent!.Owner);

        // The claimant's write clears the fence; the first owner's late write is refused by version.
        var replaced = await second.TryReplaceAsync(User, claimed.Version, Records.Create("access-2", "refresh-2"), Cancel);
        Assert.NotNull(replaced);
        Assert.Null(await first.TryReplaceAsync(User, fenced.Version, Records.Create("access-stale", "refresh-stale"), Cancel));
        var key = Assert.Single(redis.AdminServer.Keys(pattern: $"{Prefix}:*:tok:*"));
        var fields = await redis.Admin.GetDatabase().HashGetAllAsync(key);
        Assert.Equal(["d", "v"], fields.Select(field => field.Name.ToString()).Order());
        Assert.Null((await first.GetAsync(User, Cancel))!.RefreshIntent);
    }

    private TestApp App(Action<PitchlyRedisOptions>? configure = null, string? keyRing = null, CapturedLogs? logs = null) =>
        Own(TestApp.Create(redis, Prefix, keyRing ?? KeyRing, configure, logs));
}

/// <summary>Pauses the next read of an instance that caches its result at one stage, until resumed.</summary>
internal sealed class PausedRead
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PausedRead(TestApp app, CacheInsertStage stage)
    {
        var store = app.RedisStore;
        var previous = store.CacheInsertHook;
        store.CacheInsertHook = async reached =>
        {
            if (reached != stage)
            {
                await (previous?.Invoke(reached) ?? Task.CompletedTask);
                return;
            }

            store.CacheInsertHook = previous;
            _reached.TrySetResult();
            await _resume.Task;
        };
    }

    public Task Reached => _reached.Task;

    public void Resume() => _resume.TrySetResult();
}


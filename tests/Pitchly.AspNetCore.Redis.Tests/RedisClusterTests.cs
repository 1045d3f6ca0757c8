namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>The store, the lock and the announcements against a real three-primary Redis Cluster.</summary>
public sealed class RedisClusterTests(RedisCluster cluster) : RedisTestScope('c'), IClassFixture<RedisCluster>
{
    private const int SlotMovedEventId = 3031;

    private static PitchlyTokenKey User(int number) => PitchlyTokenKey.ForUser("org-c", $"person-{number}");

    [Fact]
    public async Task A_records_keys_and_channel_share_one_slot_and_the_records_spread_over_every_primary()
    {
        var app = App();
        var names = new RedisKeyNames(Prefix);
        var owners = new HashSet<int>();
        for (var user = 0; user < 60; user++)
        {
            var hash = RedisKeyNames.Hash(User(user));
            await app.Store.SetAsync(User(user), Records.Create($"access-{user}", $"refresh-{user}"), Cancel);
            await using (await app.Lock.AcquireAsync(User(user), Cancel))
            {
                var slot = cluster.Admin.GetHashSlot(names.Record(hash));
                Assert.Equal(slot, cluster.Admin.GetHashSlot(names.Lock(hash)));
                Assert.Equal(slot, cluster.Admin.GetHashSlot(new RedisKey(names.ChannelName(hash).ToString())));
                var owner = await cluster.OwnerAsync(slot);
                Assert.Equal(1L, (long)(await cluster.Node(owner).ExecuteAsync("EXISTS", names.Lock(hash).ToString())));
                Assert.Equal(1L, (long)(await cluster.Node(owner).ExecuteAsync("EXISTS", names.Record(hash).ToString())));
                owners.Add(owner);
            }
        }

        // Different records, different slots: every primary holds some of them.
        Assert.Equal(cluster.Ports.Order(), owners.Order());
        var bucketSlots = names.ChannelNames.Select(name => cluster.Admin.GetHashSlot(name)).ToHashSet();
        Assert.Equal(RedisKeyNames.BucketCount, bucketSlots.Count);
    }

    [Fact]
    public async Task The_store_contract_holds_across_instances_with_their_own_connections()
    {
        var first = App();
        var second = App(CrossInstanceContract.WaitWithoutPolling);
        var key = User(1000);

        await CrossInstanceContract.AssertHoldsAsync(first, second, key, Cancel);
    }

    [Fact]
    public async Task Announcements_are_sharded_and_evict_other_instances_cached_copies_on_every_primary()
    {
        var writer = App();
        var reader = App();
        var keys = Enumerable.Range(2000, 30).Select(User).ToList();
        foreach (var key in keys)
        {
            await writer.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel);
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
            TimeSpan.FromSeconds(5),
            "the reader caches every record");

        // Each primary serves the shard channels of the slots it owns, and no classic channel is used.
        var names = new RedisKeyNames(Prefix);
        var subscribed = new List<string>();
        foreach (var port in cluster.Ports)
        {
            var channels = ((RedisResult[])(await cluster.Node(port).ExecuteAsync("PUBSUB", "SHARDCHANNELS", $"{Prefix}:*"))!)
                .Select(channel => (string)channel!).ToList();
            foreach (var channel in channels)
            {
                Assert.Equal(port, await cluster.OwnerAsync(cluster.Admin.GetHashSlot(channel)));
            }

            subscribed.AddRange(channels);
            Assert.Empty((RedisResult[])(await cluster.Node(port).ExecuteAsync("PUBSUB", "CHANNELS", $"{Prefix}:*"))!);
        }

        Assert.Equal(names.ChannelNames.Order(), subscribed.Distinct().Order());

        foreach (var key in keys)
        {
            await writer.Store.SetAsync(key, Records.Create("access-2", "refresh-2"), Cancel);
        }

        await Eventually.HoldsAsync(() => Task.FromResult(reader.RedisStore.CachedCount == 0), TimeSpan.FromSeconds(5), "every cached copy is evicted");
        foreach (var key in keys)
        {
            Assert.Equal("access-2", (await reader.Store.GetAsync(key, Cancel))!.AccessToken);
        }
    }

    [Fact]
    public async Task Refreshes_through_several_instances_spend_no_refresh_token_twice_while_their_slots_migrate()
    {
        const int Users = 9;
        const int Instances = 3;
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.GeneratedUsers = Users, Cancel);
        var people = RefreshLoad.LoadUsers(emulator);
        var logs = new CapturedLogs();
        var instances = Enumerable.Range(0, Instances)
            .Select(i => Own(EmulatedInstance.Create(cluster.Configuration, emulator, Prefix, KeyRing, User(0), logs: i == 1 ? logs : null)))
            .ToList();
        var keys = await RefreshLoad.SignInAsync(emulator, people, instances[0], Cancel);

        var names = new RedisKeyNames(Prefix);
        var slots = keys.Select(key => cluster.Admin.GetHashSlot(names.Record(RedisKeyNames.Hash(key)))).Distinct().ToList();
        var load = RefreshLoad.Start(instances, keys, Cancel);

        // Every slot in use moves to the next primary and then on to the third, with the refreshes running.
        await Task.Delay(300, Cancel);
        for (var round = 1; round <= 2; round++)
        {
            foreach (var slot in slots)
            {
                var owner = await cluster.OwnerAsync(slot);
                var next = cluster.Ports[(cluster.Ports.ToList().IndexOf(owner) + 1) % cluster.Ports.Count];
                await cluster.MigrateSlotAsync(slot, next);
                await Task.Delay(50, Cancel);
            }
        }

        await Task.Delay(500, Cancel);
        await load.StopAsync();

        var stats = emulator.Emulator.GetStats();
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(0, stats.RevokedFamilies);
        Assert.True(load.Refreshed > 0 && stats.RefreshGrants > slots.Count, $"{load.Refreshed} refreshes, {stats.RefreshGrants} refresh grants");
        load.AssertOnlyRetryableFailures();

        // Once the slots have settled, every instance hears the announcements of the moved buckets again.
        await RefreshLoad.AssertSettledAsync(instances[0], instances[1], keys, Cancel);

        // The instance heard of the moves, and stopped trusting its cache meanwhile.
        Assert.Contains(logs.Entries, entry => entry.EventId == SlotMovedEventId);

        var reader = instances[1].Services.GetRequiredService<RedisPitchlyTokenStore>();
        await Eventually.HoldsAsync(
            async () =>
            {
                foreach (var key in keys)
                {
                    await reader.GetAsync(key, Cancel);
                }

                return reader.CachedCount == keys.Count;
            },
            TimeSpan.FromSeconds(10),
            "the second instance caches every record again");
        foreach (var key in keys)
        {
            var record = (await instances[0].Store.GetAsync(key, Cancel))!;
            await instances[0].Store.SetAsync(key, record, Cancel);
        }

        await Eventually.HoldsAsync(() => Task.FromResult(reader.CachedCount == 0), TimeSpan.FromSeconds(5), "every moved bucket's announcement is heard");
        TestContext.Current.SendDiagnosticMessage($"{load.Refreshed} refreshes, {stats.RefreshGrants} refresh grants, {load.Failures.Count} retryable failures over {slots.Count} slots moved twice.");
    }

    [Fact]
    public async Task A_cached_copy_is_dropped_when_its_slot_moves_so_a_write_announced_meanwhile_is_not_missed()
    {
        var writer = App();
        var reader = App();
        var names = new RedisKeyNames(Prefix);
        for (var user = 3000; user < 3012; user++)
        {
            var key = User(user);
            await writer.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel);
            await Eventually.HoldsAsync(
                async () => await reader.Store.GetAsync(key, Cancel) is not null && reader.RedisStore.CachedCount == 1,
                TimeSpan.FromSeconds(5),
                "the reader caches the record");

            // The node giving the slot up ends the reader's subscription; the write is announced where the slot went.
            var slot = cluster.Admin.GetHashSlot(names.Record(RedisKeyNames.Hash(key)));
            var owner = await cluster.OwnerAsync(slot);
            await cluster.MigrateSlotAsync(slot, cluster.Ports.First(port => port != owner));
            var written = await writer.Store.SetAsync(key, Records.Create("access-2", "refresh-2"), Cancel);

            // Announcements always take a moment; one lost while the subscription moved would leave the old copy
            // served for the cache's whole ten minutes.
            await Eventually.HoldsAsync(
                async () => (await reader.Store.GetAsync(key, Cancel))!.Version == written.Version,
                TimeSpan.FromSeconds(3),
                "the reader serves the record written after the move");
            Assert.True(await reader.Store.RemoveAsync(key, written.Version, Cancel));
            await Eventually.HoldsAsync(() => Task.FromResult(reader.RedisStore.CachedCount == 0), TimeSpan.FromSeconds(5), "the removal is heard");
        }
    }

    private TestApp App(Action<PitchlyRedisOptions>? configure = null) => Own(TestApp.Create(cluster.Configuration, Prefix, KeyRing, configure));
}

using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// Writes of tokens wait for a real replica's acknowledgement, and what happens when it does not come: the replica is
/// frozen with SIGSTOP, so the primary keeps the write and the replica copies it only when it is resumed.
/// </summary>
public sealed class ReplicaAcknowledgementTests(RedisPrimaryWithReplica redis) : RedisTestScope('t'), IClassFixture<RedisPrimaryWithReplica>
{
    private const int WriteUnacknowledgedEventId = 3040;

    public override async ValueTask DisposeAsync()
    {
        await redis.Replica.ResumeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_write_returns_only_once_the_replica_holds_it()
    {
        var app = App(o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(10));
        var key = PitchlyTokenKey.ForUser("org-replica", "replica-user-1");
        await app.Store.SetAsync(key, Records.Create("access-0", "refresh-0"), Cancel);
        var stored = (await app.Store.GetAsync(key, Cancel))!;

        await redis.Replica.SuspendAsync();
        var resumeAfter = TimeSpan.FromMilliseconds(700);
        var elapsed = Stopwatch.StartNew();
        var resume = Task.Run(async () =>
        {
            await Task.Delay(resumeAfter, Cancel);
            await redis.Replica.ResumeAsync();
        }, Cancel);
        var replaced = await app.Store.TryReplaceAsync(key, stored.Version, Records.Create("access-1", "refresh-1"), Cancel);
        var took = elapsed.Elapsed;
        await resume;

        Assert.NotNull(replaced);
        Assert.True(took >= resumeAfter - TimeSpan.FromMilliseconds(50), $"The write returned after {took.TotalMilliseconds:F0} ms, before the replica was resumed.");

        // What the replica holds the moment the write returned: the version written (no waiting for it here).
        var onReplica = await redis.Replica.Admin.GetDatabase().HashGetAsync(new RedisKeyNames(Prefix).Record(RedisKeyNames.Hash(key)), "v");
        Assert.Equal(replaced.Version, (long)onReplica);
    }

    [Fact]
    public async Task A_compare_and_swap_no_replica_acknowledges_fails_retryably_and_its_retry_succeeds_once_the_replica_has_it()
    {
        var logs = new CapturedLogs();
        var app = App(
            o =>
            {
                o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(300);
                o.L1MaxAge = TimeSpan.Zero; // the memory of unacknowledged writes is swept without the L1's timer
            },
            logs);
        using var unacknowledged = Collect(app, "pitchly.store.unacknowledged_writes");
        var key = PitchlyTokenKey.ForUser("org-replica", "replica-user-2");
        await app.Store.SetAsync(key, Records.Create("access-0", "refresh-0"), Cancel);
        var stored = (await app.Store.GetAsync(key, Cancel))!;
        var refreshed = Records.Create("access-1", "refresh-1");

        await redis.Replica.SuspendAsync();
        var failure = await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(
            async () => await app.Store.TryReplaceAsync(key, stored.Version, refreshed, Cancel));
        Assert.Contains("acknowledged", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("access-1", failure.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, entry => entry.EventId == WriteUnacknowledgedEventId);
        var measurement = Assert.Single(unacknowledged.GetMeasurementSnapshot());
        Assert.Equal("unacknowledged", measurement.Tags["pitchly.outcome"]);
        Assert.Equal(1, app.RedisStore.Writes.RememberedCount);
        Assert.True(app.RedisStore.Writes.Sweeping);

        // While the replica is still frozen the retry fails the same way; once it has caught up, the retry finds its own
        // write at the primary and succeeds instead of reporting a conflict with its own tokens.
        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(
            async () => await app.Store.TryReplaceAsync(key, stored.Version, refreshed, Cancel));
        await redis.Replica.ResumeAsync();
        await redis.WaitUntilInSyncAsync();
        var retried = await app.Store.TryReplaceAsync(key, stored.Version, refreshed, Cancel);

        Assert.NotNull(retried);
        Assert.Equal(0, app.RedisStore.Writes.RememberedCount);
        var current = (await app.Store.GetAsync(key, Cancel))!;
        Assert.Equal(current.Version, retried.Version);
        Assert.Equal("refresh-1", current.RefreshToken);

        // The earlier write is remembered only for that retry: another writer expecting the old version still conflicts.
        Assert.Null(await app.Store.TryReplaceAsync(key, stored.Version, Records.Create("access-2", "refresh-2"), Cancel));
    }

    [Fact]
    public async Task Under_AcceptPrimaryOnly_an_unacknowledged_write_goes_on_and_is_counted()
    {
        var logs = new CapturedLogs();
        var app = App(
            o =>
            {
                o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(200);
                o.UnacknowledgedWritePolicy = PitchlyRedisUnacknowledgedWritePolicy.AcceptPrimaryOnly;
            },
            logs);
        using var unacknowledged = Collect(app, "pitchly.store.unacknowledged_writes");
        var key = PitchlyTokenKey.ForUser("org-replica", "replica-user-3");
        await app.Store.SetAsync(key, Records.Create("access-0", "refresh-0"), Cancel);

        await redis.Replica.SuspendAsync();
        var written = await app.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel);
        await redis.Replica.ResumeAsync();

        Assert.Equal(written.Version, (await app.Store.GetAsync(key, Cancel))!.Version);
        Assert.Equal("unacknowledged", Assert.Single(unacknowledged.GetMeasurementSnapshot()).Tags["pitchly.outcome"]);
        Assert.Contains(logs.Entries, entry => entry.EventId == WriteUnacknowledgedEventId && entry.Message.Contains("AcceptPrimaryOnly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refresh_whose_intent_no_replica_acknowledges_presents_no_refresh_token_and_the_next_one_succeeds()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);
        var person = emulator.Emulator.Users.First().PersonId;
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(emulator, person);
        var instance = Own(EmulatedInstance.Create(redis.Primary.Configuration, emulator, Prefix, KeyRing, key, o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(300)));
        await instance.Store.SetAsync(key, record, Cancel);
        var before = emulator.Emulator.GetStats().RefreshGrants;

        await redis.Replica.SuspendAsync();
        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await instance.Manager.RefreshAsync(key, record.AccessToken, Cancel));
        Assert.Equal(before, emulator.Emulator.GetStats().RefreshGrants);

        await redis.Replica.ResumeAsync();
        await redis.WaitUntilInSyncAsync();
        var token = await instance.Manager.RefreshAsync(key, record.AccessToken, Cancel);

        Assert.NotEqual(record.AccessToken, token.Value);
        var stats = emulator.Emulator.GetStats();
        Assert.Equal(before + 1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
    }

    [Fact]
    public async Task A_replica_that_went_away_still_makes_writes_wait_for_acknowledgement()
    {
        var app = App(o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(300));
        var key = PitchlyTokenKey.ForUser("org-replica", "replica-user-5");
        await app.Store.SetAsync(key, Records.Create("access-0", "refresh-0"), Cancel);

        // Detached, the primary lists no replica; one was seen a moment ago, so a failover could still promote it.
        await redis.Replica.AdminServer.ExecuteAsync("REPLICAOF", "127.0.0.1", "1");
        try
        {
            await Eventually.HoldsAsync(
                async () => !((string)(await redis.Primary.AdminServer.ExecuteAsync("INFO", "replication"))!).Contains("slave0:", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10),
                "the primary lists no replica");
            await Task.Delay(1100, Cancel); // past the cached replication state
            await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await app.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel));
        }
        finally
        {
            await redis.Replica.AdminServer.ExecuteAsync("REPLICAOF", "127.0.0.1", redis.Primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await redis.WaitUntilInSyncAsync();
        }
    }

    [Fact]
    public async Task An_instance_started_after_the_replica_went_away_does_not_take_the_primary_for_one_without_replicas()
    {
        var key = PitchlyTokenKey.ForUser("org-replica", "replica-user-6");

        // Detached, the primary lists no replica; an instance that never saw it must not conclude there is none.
        await redis.Replica.AdminServer.ExecuteAsync("REPLICAOF", "127.0.0.1", "1");
        try
        {
            await Eventually.HoldsAsync(
                async () => !((string)(await redis.Primary.AdminServer.ExecuteAsync("INFO", "replication"))!).Contains("slave0:", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10),
                "the primary lists no replica");
            var logs = new CapturedLogs();
            var app = App(o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(300), logs);

            await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await app.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel));
            Assert.Contains(logs.Entries, entry => entry.EventId == 3045);
            var health = await app.CheckHealthAsync();
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, health.Status);
        }
        finally
        {
            await redis.Replica.AdminServer.ExecuteAsync("REPLICAOF", "127.0.0.1", redis.Primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await redis.WaitUntilInSyncAsync();
        }
    }

    [Fact]
    public async Task A_write_waiting_for_a_frozen_replica_does_not_delay_other_reads_of_the_instance()
    {
        var app = App(o =>
        {
            o.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(3);
            o.L1MaxAge = TimeSpan.Zero; // every read goes to Redis, on the connection the instance shares
        });
        var written = PitchlyTokenKey.ForUser("org-replica", "replica-user-7");
        var other = PitchlyTokenKey.ForUser("org-replica", "replica-user-8");
        await app.Store.SetAsync(written, Records.Create("access-0", "refresh-0"), Cancel);
        await app.Store.SetAsync(other, Records.Create("access-other", "refresh-other"), Cancel);
        var stored = (await app.Store.GetAsync(written, Cancel))!;

        await redis.Replica.SuspendAsync();
        var write = Task.Run(async () => await app.Store.TryReplaceAsync(written, stored.Version, Records.Create("access-1", "refresh-1"), Cancel), Cancel);
        await Task.Delay(200, Cancel); // the write is waiting for the replica now

        var took = new List<double>();
        for (var i = 0; i < 30 && !write.IsCompleted; i++)
        {
            var read = Stopwatch.StartNew();
            Assert.Equal("access-other", (await app.Store.GetAsync(other, Cancel))!.AccessToken);
            took.Add(read.Elapsed.TotalMilliseconds);
            await Task.Delay(7, Cancel);
        }

        Assert.False(write.IsCompleted, "The write returned while the replica was frozen.");
        await redis.Replica.ResumeAsync();
        Assert.NotNull(await write);

        // Reads queued behind a replica wait would take up to the wait's length each (25 ms slices before); on their
        // own connection they take a loopback round trip. The median rules out a slow run's outliers.
        took.Sort();
        var median = took[took.Count / 2];
        Assert.True(took.Count >= 20, $"Only {took.Count} reads ran during the wait.");
        Assert.True(median < 5, $"Reads took {string.Join(", ", took.Select(ms => ms.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} ms while a write waited for a replica.");
    }

    [Fact]
    public void The_replication_section_is_read_for_online_replicas_and_every_required_one_must_have_acknowledged()
    {
        const string Info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
            + "slave0:ip=127.0.0.1,port=7002,state=online,offset=1234,lag=0\r\n"
            + "slave1:ip=127.0.0.1,port=7003,state=wait_bgsave,offset=0,lag=0\r\n"
            + "master_failover_state:no-failover\r\nmaster_replid:8d89108061a2f0f5d5f1c3d55657f47ab06dd9fa\r\n"
            + "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:1300\r\n";

        var state = ReplicaAcknowledgement.ReplicationState.Parse(Info);

        Assert.Equal("master", state.Role);
        Assert.Equal("8d89108061a2f0f5d5f1c3d55657f47ab06dd9fa", state.ReplicationId);
        Assert.Equal([("127.0.0.1:7002", 1234L)], state.Replicas);
        Assert.True(state.AcknowledgedByAll(["127.0.0.1:7002"], 1234));
        Assert.False(state.AcknowledgedByAll(["127.0.0.1:7002"], 1235));

        // Every replica seen lately must have it: one that is not streaming (or gone) has not.
        Assert.False(state.AcknowledgedByAll(["127.0.0.1:7002", "127.0.0.1:7003"], 1234));
        Assert.False(state.AcknowledgedByAll([], 0));

        // What tells a primary that never had a replica from one that had: listed replicas, promotion, backlog.
        Assert.Equal(2, state.ListedReplicas);
        Assert.False(state.Promoted);
        Assert.False(state.BacklogActive);
        var promoted = ReplicaAcknowledgement.ReplicationState.Parse("role:master\r\nconnected_slaves:0\r\nsecond_repl_offset:1\r\nrepl_backlog_active:1\r\n");
        Assert.Equal(0, promoted.ListedReplicas);
        Assert.True(promoted.Promoted);
        Assert.True(promoted.BacklogActive);
    }

    private TestApp App(Action<PitchlyRedisOptions>? configure = null, CapturedLogs? logs = null) =>
        Own(TestApp.Create(redis.Primary, Prefix, KeyRing, configure, logs));

    private static MetricCollector<long> Collect(TestApp app, string instrument)
    {
        app.Services.GetRequiredService<Pitchly.AspNetCore.Internal.PitchlyMetrics>();
        return new MetricCollector<long>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), PitchlyTelemetry.MeterName, instrument);
    }
}

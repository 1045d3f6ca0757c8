namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// An instance whose Data Protection application name or key ring differs from the others' finds out at start-up from
/// the key check the first instance wrote, and never deletes what it cannot decrypt: install records are kept in every
/// case, user records while this instance has not shown it shares the others' keys.
/// </summary>
public sealed class DataProtectionKeyCheckTests(RedisServer redis) : RedisTestScope('k'), IClassFixture<RedisServer>
{
    private const int KeyCheckUnreadableEventId = 3046;
    private const int RecordKeptEventId = 3049;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-keys", "person-keys");

    private static PitchlyTokenKey Install => PitchlyTokenKey.ForInstall("org-keys", "db-keys");

    [Fact]
    public async Task An_instance_with_another_application_name_fails_start_up_and_deletes_none_of_the_records_it_cannot_read()
    {
        var first = Own(TestApp.Create(redis, Prefix, KeyRing));
        await first.StartAsync();
        await first.Store.SetAsync(User, Records.Create("access-user-Qm3", "refresh-user-Vb8"), Cancel);
        await first.Store.SetAsync(Install, Records.Create("access-install-Lp5", "refresh-install-Tz1"), Cancel);
        var logs = new CapturedLogs();
        var misnamed = Own(TestApp.Create(redis, Prefix, KeyRing, logs: logs, applicationName: "another-app-name"));

        var startUp = await Assert.ThrowsAsync<InvalidOperationException>(misnamed.StartAsync);

        Assert.Contains("SetApplicationName", startUp.Message, StringComparison.Ordinal);
        Assert.Contains($"{Prefix}:dp-canary", startUp.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, entry => entry.EventId == KeyCheckUnreadableEventId && entry.Level == LogLevel.Error);

        // Had it started anyway, its reads fail retryably and remove nothing: not even the user's record.
        await Assert.ThrowsAsync<PitchlyRedisRecordUndecryptableException>(async () => await misnamed.Store.GetAsync(User, Cancel));
        await Assert.ThrowsAsync<PitchlyRedisRecordUndecryptableException>(async () => await misnamed.Store.GetAsync(Install, Cancel));
        Assert.Equal(2, logs.Entries.Count(entry => entry.EventId == RecordKeptEventId));
        Assert.All(logs.Entries, entry => Assert.DoesNotContain("-user-", entry.ToString(), StringComparison.Ordinal));
        Assert.Equal("access-user-Qm3", (await Fresh().Store.GetAsync(User, Cancel))?.AccessToken);
        Assert.Equal("access-install-Lp5", (await Fresh().Store.GetAsync(Install, Cancel))?.AccessToken);
    }

    [Fact]
    public async Task Instances_sharing_the_application_name_and_key_ring_pass_the_check_whoever_writes_it()
    {
        var logs = new CapturedLogs();
        var first = Own(TestApp.Create(redis, Prefix, KeyRing, logs: logs));
        var second = Own(TestApp.Create(redis, Prefix, KeyRing));

        await Task.WhenAll(first.StartAsync(), second.StartAsync());

        Assert.True(await redis.Admin.GetDatabase().KeyExistsAsync($"{Prefix}:dp-canary"));
        Assert.DoesNotContain(logs.Entries, entry => entry.EventId == KeyCheckUnreadableEventId);
    }

    [Fact]
    public async Task An_install_record_that_cannot_be_decrypted_is_kept_and_its_reads_fail_retryably()
    {
        var foreign = Own(TestApp.Create(redis, Prefix, Directory.CreateDirectory(Path.Combine(KeyRing, "foreign")).FullName));
        var written = await foreign.Store.SetAsync(Install, Records.Create("access-install-Hd4", "refresh-install-Wc9"), Cancel);
        var logs = new CapturedLogs();
        var app = Own(TestApp.Create(redis, Prefix, KeyRing, logs: logs));
        await app.StartAsync();
        var recordKey = new RedisKeyNames(Prefix).Record(RedisKeyNames.Hash(Install));

        var failure = await Assert.ThrowsAsync<PitchlyRedisRecordUndecryptableException>(async () => await app.Store.GetAsync(Install, Cancel));
        await Assert.ThrowsAsync<PitchlyRedisRecordUndecryptableException>(async () => await app.Store.GetAsync(Install, Cancel));

        Assert.IsAssignableFrom<PitchlyTokenStoreUnavailableException>(failure);
        Assert.DoesNotContain("install-", failure.Message, StringComparison.Ordinal);
        Assert.Equal(written.Version, (long)await redis.Admin.GetDatabase().HashGetAsync(recordKey, "v"));
        Assert.True(await redis.Admin.GetDatabase().HashExistsAsync(recordKey, "d"));
        var kept = logs.Entries.First(entry => entry.EventId == RecordKeptEventId);
        Assert.Contains("never removed", kept.Message, StringComparison.Ordinal);
        Assert.Equal("access-install-Hd4", (await foreign.Store.GetAsync(Install, Cancel))?.AccessToken);
    }

    [Fact]
    public async Task With_unshared_keys_allowed_a_key_check_that_cannot_be_read_is_replaced_and_start_up_goes_on()
    {
        await Own(TestApp.Create(redis, Prefix, KeyRing)).StartAsync();
        var logs = new CapturedLogs();
        var single = Own(TestApp.Create(redis, Prefix, KeyRing, o => o.AllowUnsharedDataProtectionKeys = true, logs, "another-app-name"));

        await single.StartAsync();

        Assert.Contains(logs.Entries, entry => entry.EventId == 3050);
        await Own(TestApp.Create(redis, Prefix, KeyRing, applicationName: "another-app-name")).StartAsync();
    }

    [Fact]
    public async Task Start_up_goes_on_and_says_the_check_is_not_made_when_Redis_cannot_be_reached()
    {
        var logs = new CapturedLogs();
        var app = Own(TestApp.Create($"127.0.0.1:{Storm.Orchestration.FreePort.Next()}", Prefix, KeyRing, logs: logs));

        await app.StartAsync();

        Assert.Contains(logs.Entries, entry => entry.EventId == 3048);
    }

    [Fact]
    public async Task After_Redis_restarts_empty_the_instances_running_write_the_check_again_before_a_misnamed_one_can()
    {
        await using var server = new RedisServer();
        await server.InitializeAsync();
        var running = Own(TestApp.Create(server, Prefix, KeyRing));
        await running.StartAsync();
        await running.Store.SetAsync(User, Records.Create("access-user-Rr2", "refresh-user-Nn6"), Cancel);

        await server.StopAsync();
        await server.StartAsync();
        await Eventually.HoldsAsync(
            async () => await server.Admin.GetDatabase().KeyExistsAsync($"{Prefix}:dp-canary"),
            TimeSpan.FromSeconds(30),
            "the running instance wrote the check again once reconnected");

        // The check can be back before every connection of the multiplexer is: a write that finds none answers
        // PitchlyTokenStoreUnavailableException (nothing spent), so the record is written once one is.
        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    await running.Store.SetAsync(User, Records.Create("access-user-Ss3", "refresh-user-Mm7"), Cancel);
                    return true;
                }
                catch (PitchlyTokenStoreUnavailableException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(30),
            "the running instance wrote a record once reconnected");
        var misnamed = Own(TestApp.Create(server, Prefix, KeyRing, applicationName: "another-app-name"));

        await Assert.ThrowsAsync<InvalidOperationException>(misnamed.StartAsync);
        await Assert.ThrowsAsync<PitchlyRedisRecordUndecryptableException>(async () => await misnamed.Store.GetAsync(User, Cancel));
        Assert.True(await server.Admin.GetDatabase().HashExistsAsync(new RedisKeyNames(Prefix).Record(RedisKeyNames.Hash(User)), "d"));
    }

    private TestApp Fresh() => Own(TestApp.Create(redis, Prefix, KeyRing));
}

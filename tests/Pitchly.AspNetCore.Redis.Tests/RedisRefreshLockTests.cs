namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RedisRefreshLockTests(RedisServer redis) : RedisTestScope('l'), IClassFixture<RedisServer>
{

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-1", "person-1");

    [Fact]
    public async Task Holders_on_two_instances_never_overlap_under_contention()
    {
        var apps = new[] { App(), App(), App() };
        var counter = 0;
        var inside = 0;
        var overlaps = 0;

        await Task.WhenAll(Enumerable.Range(0, 30).Select(worker => Task.Run(async () =>
        {
            await using var handle = await apps[worker % apps.Length].Lock.AcquireAsync(User, Cancel);
            if (Interlocked.Increment(ref inside) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            var read = counter;
            await Task.Delay(2, Cancel);
            counter = read + 1;
            Interlocked.Decrement(ref inside);
        }, Cancel)));

        Assert.Equal(0, overlaps);
        Assert.Equal(30, counter);
    }

    [Fact]
    public async Task Renewal_keeps_a_holder_longer_than_its_lease()
    {
        var holder = App(options => options.LockLease = TimeSpan.FromMilliseconds(300));
        var contender = App(options => options.LockWaitTimeout = TimeSpan.FromMilliseconds(200));

        await using var handle = await holder.Lock.AcquireAsync(User, Cancel);
        await Task.Delay(TimeSpan.FromSeconds(1.2), Cancel);

        Assert.False(handle.LockLost.IsCancellationRequested);
        await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await contender.Lock.AcquireAsync(User, Cancel));
        Assert.Single(LockKeys());
    }

    [Fact]
    public async Task Release_by_a_holder_that_lost_the_lock_does_not_release_the_new_holder()
    {
        var first = App();
        var second = App(options => options.LockWaitTimeout = TimeSpan.FromSeconds(2));
        var third = App(options => options.LockWaitTimeout = TimeSpan.FromMilliseconds(200));
        var stale = await first.Lock.AcquireAsync(User, Cancel);
        var lockKey = Assert.Single(LockKeys());

        await redis.Admin.GetDatabase().KeyDeleteAsync(lockKey);
        await using var current = await second.Lock.AcquireAsync(User, Cancel);
        var owner = await redis.Admin.GetDatabase().StringGetAsync(lockKey);
        await stale.DisposeAsync();

        Assert.Equal(owner, await redis.Admin.GetDatabase().StringGetAsync(lockKey));
        Assert.False(current.LockLost.IsCancellationRequested);
        await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await third.Lock.AcquireAsync(User, Cancel));
    }

    [Fact]
    public async Task Lock_lost_fires_when_the_lock_key_is_deleted()
    {
        var app = App(options => options.LockLease = TimeSpan.FromMilliseconds(300));
        await using var handle = await app.Lock.AcquireAsync(User, Cancel);

        await redis.Admin.GetDatabase().KeyDeleteAsync(Assert.Single(LockKeys()));

        await WaitForAsync(handle.LockLost, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Lock_lost_fires_by_the_end_of_the_lease_when_renewal_cannot_reach_redis()
    {
        var app = App(options => options.LockLease = TimeSpan.FromMilliseconds(400));
        await using var handle = await app.Lock.AcquireAsync(User, Cancel);
        var paused = Stopwatch.StartNew();

        await redis.AdminServer.ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");
        try
        {
            await WaitForAsync(handle.LockLost, TimeSpan.FromSeconds(2.5));
            Assert.True(paused.Elapsed < TimeSpan.FromSeconds(2.5));
        }
        finally
        {
            await UnpauseAsync();
        }
    }

    [Fact]
    public async Task Lock_lost_fires_before_the_last_third_of_a_lease_that_was_not_renewed()
    {
        var lease = TimeSpan.FromSeconds(4.5);
        var app = App(options => options.LockLease = lease);
        await using var handle = await app.Lock.AcquireAsync(User, Cancel);
        var lockKey = Assert.Single(LockKeys());
        var database = redis.Admin.GetDatabase();

        // Pause just after a renewal, so the last successful renewal is known to within a few milliseconds.
        var previous = await database.KeyTimeToLiveAsync(lockKey);
        while (await database.KeyTimeToLiveAsync(lockKey) is var current && current <= previous)
        {
            previous = current;
            await Task.Delay(5, Cancel);
        }

        var sinceRenewal = Stopwatch.StartNew();
        await redis.AdminServer.ExecuteAsync("CLIENT", "PAUSE", "7000", "ALL");
        try
        {
            Assert.False(handle.LockLost.IsCancellationRequested);
            await WaitForAsync(handle.LockLost, TimeSpan.FromSeconds(6));

            // Two thirds of the lease is 3 s; the lease itself would only end at 4.5 s.
            Assert.InRange(sinceRenewal.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(3.9));
        }
        finally
        {
            await UnpauseAsync();
        }
    }

    [Fact]
    public async Task Disposing_the_multiplexer_while_holding_the_lock_ends_the_handles_quietly()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(_ => multiplexer, options =>
        {
            options.KeyPrefix = Prefix;
            options.LockLease = TimeSpan.FromMilliseconds(300);
            options.AllowUnsharedDataProtectionKeys = true;
        });
        await using var provider = services.BuildServiceProvider();
        var refreshLock = provider.GetRequiredService<IPitchlyRefreshLock>();
        var released = await refreshLock.AcquireAsync(User, Cancel);
        var renewing = await refreshLock.AcquireAsync(PitchlyTokenKey.ForInstall("org-1"), Cancel);

        await multiplexer.DisposeAsync();
        await released.DisposeAsync();
        await WaitForAsync(renewing.LockLost, TimeSpan.FromSeconds(3));
        await renewing.DisposeAsync();
    }

    [Fact]
    public async Task An_acquisition_whose_reply_timed_out_does_not_block_the_key_for_its_lease()
    {
        var app = App(options =>
        {
            options.OperationTimeout = TimeSpan.FromMilliseconds(200);
            options.LockLease = TimeSpan.FromSeconds(30);
        });
        await app.Store.GetAsync(User, Cancel);

        // The SET NX waits in the socket while the server is frozen and is applied after the client gave up on it.
        await redis.SuspendAsync();
        try
        {
            await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(async () => await app.Lock.AcquireAsync(User, Cancel));
        }
        finally
        {
            await redis.ResumeAsync();
        }

        await Eventually.HoldsAsync(() => Task.FromResult(LockKeys().Count == 0), TimeSpan.FromSeconds(10), "the unanswered lock is released");
    }

    [Fact]
    public async Task A_release_Redis_refused_is_retried_so_a_lease_stretched_over_a_fence_does_not_keep_others_waiting()
    {
        var holder = App();
        var waiter = App(options => options.LockWaitTimeout = TimeSpan.FromSeconds(15));
        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        Assert.True(await handle.ExtendAsync(TimeSpan.FromSeconds(60), Cancel));

        // Scripts refused for a moment (an ACL change here; a failover or a dropped connection in production): the release
        // fails, and the key would otherwise live out its 60 s lease, past every waiter's 15 s wait.
        await redis.AdminServer.ExecuteAsync("ACL", "SETUSER", "default", "-eval", "-evalsha");
        try
        {
            await handle.DisposeAsync();
            Assert.Single(LockKeys());
        }
        finally
        {
            await redis.AdminServer.ExecuteAsync("ACL", "SETUSER", "default", "+eval", "+evalsha");
        }

        await using var next = await waiter.Lock.AcquireAsync(User, Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.False(next.LockLost.IsCancellationRequested);
    }

    [Fact]
    public async Task Waiter_is_woken_by_the_release_announcement_not_by_polling()
    {
        var holder = App();
        var waiter = App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(20);
        });
        await waiter.Store.GetAsync(User, Cancel);
        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var waiting = waiter.Lock.AcquireAsync(User, Cancel).AsTask();
        await Task.Delay(200, Cancel);
        Assert.False(waiting.IsCompleted);

        var released = Stopwatch.StartNew();
        await handle.DisposeAsync();
        await using var acquired = await waiting.WaitAsync(TimeSpan.FromSeconds(3), Cancel);

        Assert.True(released.Elapsed < TimeSpan.FromSeconds(3), $"woken after {released.Elapsed}");
    }

    [Fact]
    public async Task Waiters_on_several_instances_each_hear_the_release_they_wait_for_as_the_lock_is_handed_on()
    {
        // Polling would take seconds per hand-over: each waiter must be woken by an announcement, including those that
        // lost the race for a release and wait for the next one (each failed attempt marks the lock as waited for again).
        var holder = App();
        var waiters = Enumerable.Range(0, 4).Select(_ => App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(30);
        })).ToList();
        foreach (var waiter in waiters)
        {
            await waiter.Store.GetAsync(User, Cancel);
        }

        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var handedOn = Stopwatch.StartNew();
        var acquired = waiters.Select(waiter => Task.Run(async () =>
        {
            await using var held = await waiter.Lock.AcquireAsync(User, Cancel);
            await Task.Delay(20, Cancel);
        }, Cancel)).ToList();
        await Task.Delay(200, Cancel);
        Assert.DoesNotContain(acquired, task => task.IsCompleted);

        await handle.DisposeAsync();
        await Task.WhenAll(acquired).WaitAsync(TimeSpan.FromSeconds(8), Cancel);

        Assert.True(handedOn.Elapsed < TimeSpan.FromSeconds(8), $"handed on to every waiter after {handedOn.Elapsed}");
    }

    [Fact]
    public async Task A_release_no_acquisition_waited_for_is_not_announced()
    {
        var app = App();
        await app.Store.GetAsync(User, Cancel);
        using var subscriber = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var channel = (string)new RedisKeyNames(Prefix).ChannelName(RedisKeyNames.Hash(User))!;
        var received = 0;
        await subscriber.GetSubscriber().SubscribeAsync(
            subscriber.GetServers()[0].Version >= new Version(7, 0) ? StackExchange.Redis.RedisChannel.Sharded(channel) : StackExchange.Redis.RedisChannel.Literal(channel),
            (_, _) => Interlocked.Increment(ref received));

        // Taken and released with no one waiting; then tried (without waiting) while held: still nothing to announce.
        await (await app.Lock.AcquireAsync(User, Cancel)).DisposeAsync();
        var handle = await app.Lock.AcquireAsync(User, Cancel);
        Assert.Null(await ((Pitchly.AspNetCore.Internal.IRefreshLockProbe)App().Lock).TryAcquireAsync(User, Cancel));
        await handle.DisposeAsync();
        await Task.Delay(300, Cancel);

        Assert.Equal(0, Volatile.Read(ref received));
    }

    [Fact]
    public async Task A_release_signal_stays_while_someone_waits_for_it_and_leaves_with_its_last_waiter()
    {
        var holder = App();
        var waiter = App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(20);
        });
        var waiterLock = waiter.Services.GetRequiredService<RedisRefreshLock>();
        await waiter.Store.GetAsync(User, Cancel);
        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var patient = waiter.Lock.AcquireAsync(User, Cancel).AsTask();
        using (var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Cancel))
        {
            giveUp.CancelAfter(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiter.Lock.AcquireAsync(User, giveUp.Token));
        }

        Assert.Equal(1, waiterLock.ReleaseSignalCount);
        await handle.DisposeAsync();
        await using (await patient.WaitAsync(TimeSpan.FromSeconds(3), Cancel))
        {
            Assert.Equal(0, waiterLock.ReleaseSignalCount);
        }

        var impatient = App(options => options.LockWaitTimeout = TimeSpan.FromMilliseconds(200));
        await using var current = await holder.Lock.AcquireAsync(User, Cancel);
        await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await impatient.Lock.AcquireAsync(User, Cancel));
        Assert.Equal(0, impatient.Services.GetRequiredService<RedisRefreshLock>().ReleaseSignalCount);
    }

    [Fact]
    public async Task Waiting_longer_than_the_wait_timeout_throws_a_timeout_exception()
    {
        var holder = App();
        var waiter = App(options => options.LockWaitTimeout = TimeSpan.FromMilliseconds(300));
        await using var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var waited = Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await waiter.Lock.AcquireAsync(User, Cancel));

        Assert.InRange(waited.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        Assert.Contains("LockWaitTimeout", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acquiring_the_lock_makes_the_next_read_go_to_redis()
    {
        var app = App();
        var writer = App();
        await writer.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await Eventually.HoldsAsync(
            async () => await app.Store.GetAsync(User, Cancel) is not null && app.RedisStore.CachedCount == 1,
            TimeSpan.FromSeconds(5),
            "the record is cached");

        await using var handle = await app.Lock.AcquireAsync(User, Cancel);

        Assert.Equal(0, app.RedisStore.CachedCount);
    }

    [Fact]
    public async Task A_waiter_whose_refresh_the_holders_write_settles_leaves_without_the_lock_and_the_release_is_announced_to_no_one()
    {
        var holder = App();
        var waiter = App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(20);
        });
        var rejected = await holder.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await waiter.Store.GetAsync(User, Cancel);
        await using var messages = await ChannelMessageCounter.StartAsync(redis, Prefix, User);
        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var waiting = WaitCheck(waiter).AcquireUnlessUnneededAsync(User, StillNeeded(waiter, "access-1"), Cancel).AsTask();
        await Eventually.HoldsAsync(() => redis.Admin.GetDatabase().KeyExistsAsync(WaiterMark()), TimeSpan.FromSeconds(5), "the waiter marks the lock");
        Assert.False(waiting.IsCompleted);

        // The holder's write wakes the waiter, which reads the new tokens and leaves; the release then wakes no one.
        Assert.NotNull(await holder.Store.TryReplaceAsync(User, rejected.Version, Records.Create("access-2", "refresh-2"), Cancel));
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(3), Cancel));
        await handle.DisposeAsync();

        Assert.Equal(1, await messages.SettledCountAsync());
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync(WaiterMark()));
    }

    [Fact]
    public async Task A_waiter_that_reads_the_new_tokens_before_its_first_wait_never_marks_the_lock()
    {
        var holder = App();
        var waiter = App();
        var rejected = await holder.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await waiter.Store.GetAsync(User, Cancel);
        await using var handle = await holder.Lock.AcquireAsync(User, Cancel);
        Assert.NotNull(await holder.Store.TryReplaceAsync(User, rejected.Version, Records.Create("access-2", "refresh-2"), Cancel));
        await using var messages = await ChannelMessageCounter.StartAsync(redis, Prefix, User);

        // It came after the write, the lock still held: it reads the stored tokens instead of queueing for a release.
        Assert.Null(await WaitCheck(waiter).AcquireUnlessUnneededAsync(User, StillNeeded(waiter, "access-1"), Cancel));
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync(WaiterMark()));
        await handle.DisposeAsync();

        Assert.Equal(0, await messages.SettledCountAsync());
    }

    [Fact]
    public async Task Waiters_a_write_woke_that_still_need_the_lock_mark_it_again_and_hear_its_release()
    {
        // Polling would take 10 s: the write consumed the marks, so each waiter must mark again when it finds the lock
        // still held, and be woken by the release announcement that mark asks for.
        var holder = App();
        var plain = App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(30);
        });
        var checking = App(options =>
        {
            options.LockPollInterval = TimeSpan.FromSeconds(10);
            options.LockWaitTimeout = TimeSpan.FromSeconds(30);
        });
        var stored = await holder.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await plain.Store.GetAsync(User, Cancel);
        await checking.Store.GetAsync(User, Cancel);
        var handle = await holder.Lock.AcquireAsync(User, Cancel);
        var acquired = new[]
        {
            Task.Run(
                async () =>
                {
                    await using var held = await plain.Lock.AcquireAsync(User, Cancel);
                    await Task.Delay(20, Cancel);
                },
                Cancel),
            Task.Run(
                async () =>
                {
                    var held = await WaitCheck(checking).AcquireUnlessUnneededAsync(User, StillNeeded(checking, "access-1"), Cancel);
                    Assert.NotNull(held);
                    await Task.Delay(20, Cancel);
                    await held.DisposeAsync();
                },
                Cancel),
        };
        await Eventually.HoldsAsync(() => redis.Admin.GetDatabase().KeyExistsAsync(WaiterMark()), TimeSpan.FromSeconds(5), "the waiters mark the lock");

        // A write that settles neither waiter (a fence released, a mark set): both wake, find the lock held, mark it again.
        Assert.NotNull(await holder.Store.TryReplaceAsync(User, stored.Version, Records.Create("access-1", "refresh-1") with { RefreshTokenMayBeSpent = true }, Cancel));
        await Eventually.HoldsAsync(() => redis.Admin.GetDatabase().KeyExistsAsync(WaiterMark()), TimeSpan.FromSeconds(5), "a waiter marks the lock again");
        Assert.DoesNotContain(acquired, task => task.IsCompleted);

        var released = Stopwatch.StartNew();
        await handle.DisposeAsync();
        await Task.WhenAll(acquired).WaitAsync(TimeSpan.FromSeconds(8), Cancel);
        Assert.True(released.Elapsed < TimeSpan.FromSeconds(8), $"handed on to both waiters after {released.Elapsed}");
    }

    [Fact]
    public async Task The_lock_is_marked_as_waited_for_only_while_the_record_is_at_the_version_the_waiter_read_and_a_write_consumes_the_mark()
    {
        var app = App();
        var stored = await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        await using var handle = await app.Lock.AcquireAsync(User, Cancel);
        var names = new RedisKeyNames(Prefix);
        var hash = RedisKeyNames.Hash(User);
        var database = redis.Admin.GetDatabase();
        async Task<long> AttemptAsync(long version) => (long)await database.ScriptEvaluateAsync(
            RedisScripts.AcquireLock,
            [names.Lock(hash), names.LockWaiters(hash), names.Record(hash)],
            ["another-owner", 30_000, "1", 60_000, version]);

        Assert.Equal(2, await AttemptAsync(stored.Version - 1));
        Assert.False(await database.KeyExistsAsync(WaiterMark()));
        Assert.Equal(0, await AttemptAsync(stored.Version));
        Assert.True(await database.KeyExistsAsync(WaiterMark()));

        Assert.NotNull(await app.Store.TryReplaceAsync(User, stored.Version, Records.Create("access-2", "refresh-2"), Cancel));
        Assert.False(await database.KeyExistsAsync(WaiterMark()));
        Assert.Equal(0, await AttemptAsync(0));
        Assert.True(await database.KeyExistsAsync(WaiterMark()));
        await app.Store.SetAsync(User, Records.Create("access-3", "refresh-3"), Cancel);
        Assert.False(await database.KeyExistsAsync(WaiterMark()));
        Assert.Equal(0, await AttemptAsync(0));
        Assert.True(await app.Store.RemoveAsync(User, cancellationToken: Cancel));
        Assert.False(await database.KeyExistsAsync(WaiterMark()));
    }

    private static Pitchly.AspNetCore.Internal.IRefreshLockWaitCheck WaitCheck(TestApp app) => (Pitchly.AspNetCore.Internal.IRefreshLockWaitCheck)app.Lock;

    /// <summary>The check a refresh of <paramref name="rejectedAccessToken"/> makes: needed while the record still holds it.</summary>
    private static Func<CancellationToken, ValueTask<long?>> StillNeeded(TestApp app, string rejectedAccessToken) => async cancellationToken =>
    {
        var record = await app.Store.GetAsync(User, cancellationToken);
        return record is not null && record.AccessToken != rejectedAccessToken ? null : record?.Version ?? 0;
    };

    private RedisKey WaiterMark() => new RedisKeyNames(Prefix).LockWaiters(RedisKeyNames.Hash(User));

    private static async Task WaitForAsync(CancellationToken signal, TimeSpan within)
    {
        var fired = new TaskCompletionSource();
        await using var registration = signal.Register(() => fired.TrySetResult());
        await fired.Task.WaitAsync(within, Cancel);
    }

    private async Task UnpauseAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await redis.AdminServer.ExecuteAsync("CLIENT", "UNPAUSE");
                return;
            }
            catch (RedisException) when (attempt < 20)
            {
                await Task.Delay(100, Cancel);
            }
        }
    }

    private List<RedisKey> LockKeys() => redis.AdminServer.Keys(pattern: $"{Prefix}:*:lock:*").ToList();

    private TestApp App(Action<PitchlyRedisOptions>? configure = null) =>
        Own(TestApp.Create(redis, Prefix, KeyRing, configure));
}

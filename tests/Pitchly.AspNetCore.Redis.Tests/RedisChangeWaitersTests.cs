using Microsoft.Extensions.Time.Testing;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>The per-key signals that fence waiters wait on: bounded by the callers waiting now, and no wake-up lost.</summary>
public sealed class RedisChangeWaitersTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Waiters_that_time_out_or_are_cancelled_leave_no_signal_behind()
    {
        var time = new FakeTimeProvider();
        var waiters = new RedisChangeWaiters(time);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancel);

        // Many keys no write ever comes for: each waiter times out (the polling fallback) or is cancelled.
        var timingOut = Enumerable.Range(0, 1000).Select(i => waiters.WaitAsync($"key-{i}", TimeSpan.FromSeconds(1), Cancel)).ToList();
        var cancelled = Enumerable.Range(0, 10).Select(i => waiters.WaitAsync($"cancelled-{i}", TimeSpan.FromSeconds(30), cancel.Token)).ToList();
        Assert.Equal(1010, waiters.Count);

        time.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(timingOut).WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        await cancel.CancelAsync();
        foreach (var waiter in cancelled)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        }

        Assert.Equal(0, waiters.Count);
    }

    [Fact]
    public async Task Every_waiter_of_a_key_is_woken_by_its_announcement_and_a_waiter_joining_later_by_the_next()
    {
        var time = new FakeTimeProvider();
        var waiters = new RedisChangeWaiters(time);
        var first = Enumerable.Range(0, 5).Select(_ => waiters.WaitAsync("key", TimeSpan.FromMinutes(1), Cancel)).ToList();
        var other = waiters.WaitAsync("other", TimeSpan.FromMinutes(1), Cancel);

        waiters.Signal("key");
        await Task.WhenAll(first).WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.False(other.IsCompleted);

        // One waiter left before the announcement (its signal is gone): a new waiter still gets the next one.
        var leaving = waiters.WaitAsync("again", TimeSpan.FromSeconds(1), Cancel);
        time.Advance(TimeSpan.FromSeconds(1));
        await leaving.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        var later = waiters.WaitAsync("again", TimeSpan.FromMinutes(1), Cancel);
        waiters.Signal("again");
        await later.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        waiters.Signal("other");
        await other.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal(0, waiters.Count);
    }

    [Fact]
    public async Task Waiters_joining_and_leaving_while_announcements_arrive_are_all_woken_or_time_out_and_none_is_left()
    {
        var time = new FakeTimeProvider();
        var waiters = new RedisChangeWaiters(time);
        var tasks = new List<Task>();
        for (var round = 0; round < 200; round++)
        {
            var joined = Enumerable.Range(0, 4).Select(_ => Task.Run(() => waiters.WaitAsync("key", TimeSpan.FromMinutes(1), Cancel), Cancel)).ToList();
            await Task.WhenAll(joined.Select(j => Task.Run(async () => { while (waiters.Count == 0) { await Task.Yield(); } }, Cancel)));
            await Task.Delay(1, Cancel);
            waiters.Signal("key");
            tasks.AddRange(joined);
            if (round % 10 == 0)
            {
                // Each waiter either saw this announcement or joined after it; the next round's announcement wakes the latter.
                waiters.Signal("key");
            }
        }

        waiters.Signal("key");
        var all = Task.WhenAll(tasks);
        while (!all.IsCompleted)
        {
            waiters.Signal("key");
            await Task.Delay(5, Cancel);
        }

        await all;
        Assert.Equal(0, waiters.Count);
    }
}

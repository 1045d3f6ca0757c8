namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// What two instances with their own connections must see of one record, whatever the Redis deployment behind them:
/// compare-and-swap, the fence, removal, no ABA on re-create, and a lock whose release wakes the other instance.
/// </summary>
internal static class CrossInstanceContract
{
    /// <summary>For the second instance: polls the lock too rarely to be what wakes it, so only the announcement can.</summary>
    public static void WaitWithoutPolling(PitchlyRedisOptions options)
    {
        options.LockPollInterval = TimeSpan.FromSeconds(10);
        options.LockWaitTimeout = TimeSpan.FromSeconds(20);
    }

    /// <remarks><paramref name="second"/> is configured with <see cref="WaitWithoutPolling"/>.</remarks>
    public static async Task AssertHoldsAsync(TestApp first, TestApp second, PitchlyTokenKey key, CancellationToken cancel)
    {
        var written = await first.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), cancel);
        Assert.Equal(written, await second.Store.GetAsync(key, cancel));
        Assert.Null(await second.Store.TryReplaceAsync(key, 0, Records.Create("access-x", "refresh-x"), cancel));

        var fenced = await second.Store.TryBeginRefreshAsync(key, written.Version, "owner-b", TimeSpan.FromSeconds(30), cancel);
        Assert.NotNull(fenced);
        Assert.True(fenced.Version > written.Version);
        Assert.Null(await first.Store.TryBeginRefreshAsync(key, fenced.Version, "owner-a", TimeSpan.FromSeconds(30), cancel));
        Assert.Null(await first.Store.TryReplaceAsync(key, written.Version, Records.Create("access-stale", "refresh-stale"), cancel));
        var replaced = await second.Store.TryReplaceAsync(key, fenced.Version, Records.Create("access-2", "refresh-2"), cancel);
        Assert.NotNull(replaced);
        Assert.Null((await first.Store.GetAsync(key, cancel))!.RefreshIntent);

        Assert.False(await first.Store.RemoveAsync(key, fenced.Version, cancel));
        Assert.True(await first.Store.RemoveAsync(key, replaced.Version, cancel));
        Assert.Null(await second.Store.GetAsync(key, cancel));
        var recreated = await second.Store.TryReplaceAsync(key, 0, Records.Create("access-3", "refresh-3"), cancel);
        Assert.True(recreated!.Version > replaced.Version);
        Assert.Null(await first.Store.TryReplaceAsync(key, replaced.Version, Records.Create("access-aba", "refresh-aba"), cancel));
        Assert.Equal("access-3", (await first.Store.GetAsync(key, cancel))!.AccessToken);

        // The lock: one holder at a time, and a release wakes the waiter on another instance at once.
        var held = await first.Lock.AcquireAsync(key, cancel);
        var waiting = second.Lock.AcquireAsync(key, cancel).AsTask();
        await Task.Delay(200, cancel);
        Assert.False(waiting.IsCompleted);
        var released = Stopwatch.StartNew();
        await held.DisposeAsync();
        await using (await waiting.WaitAsync(TimeSpan.FromSeconds(5), cancel))
        {
            Assert.True(released.Elapsed < TimeSpan.FromSeconds(1), $"The waiter took {released.Elapsed} after the release.");
        }
    }
}

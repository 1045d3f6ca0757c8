namespace Pitchly.AspNetCore.Tests.TokenManagement;

public sealed class LockLostTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    [Fact]
    public async Task Tokens_obtained_after_the_lock_was_lost_are_still_stored_by_compare_and_swap()
    {
        var refreshLock = new LosableLock();
        await using var app = await TestServices.SignInAtFakeAsync(User, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock));
        var (pitchly, _, services, stored, _) = app;

        // The lease lapses while Pitchly is answering: the refresh token is already spent.
        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refresh = services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => pitchly.RefreshGrants == 1, TimeSpan.FromSeconds(15), "Pitchly performs the refresh grant");
        refreshLock.LoseCurrent();
        pitchly.HoldTokenResponses.SetResult();
        var refreshed = await refresh;

        var current = await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, TestContext.Current.CancellationToken);
        Assert.Equal(refreshed.Value, current!.AccessToken);
        Assert.True(pitchly.IsRefreshTokenValid(current.RefreshToken!));
    }

    [Fact]
    public async Task A_lock_lost_before_the_token_request_is_acquired_again_and_the_refresh_token_is_spent_once()
    {
        var refreshLock = new LosableLock { LoseFirstHandles = 1 };
        await using var app = await TestServices.SignInAtFakeAsync(User, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock));
        var (pitchly, _, services, stored, _) = app;

        var refreshed = await services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, TestContext.Current.CancellationToken);

        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        Assert.Equal(2, refreshLock.Acquisitions);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task A_stale_holder_does_not_overwrite_newer_tokens_and_uses_them()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddSingleton<IPitchlyRefreshLock>(new LosableLock()));
        using var conflicts = new MetricCollector<long>(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), PitchlyMetrics.MeterName, "pitchly.store.cas_conflicts");
        var stored = await TestServices.SignInAsync(services, pitchly, User, time);
        var store = services.GetRequiredService<IPitchlyTokenStore>();

        // Another instance stores newer tokens while this one's token request is in flight.
        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refresh = services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => pitchly.RefreshGrants == 1, TimeSpan.FromSeconds(15), "Pitchly performs the refresh grant");
        var newer = await store.SetAsync(User, stored with { AccessToken = "at_from_another_instance", ExpiresAt = time.GetUtcNow().AddHours(1) }, TestContext.Current.CancellationToken);
        pitchly.HoldTokenResponses.SetResult();
        var result = await refresh;

        Assert.Equal("at_from_another_instance", result.Value);
        Assert.Equal(newer.Version, (await store.GetAsync(User, TestContext.Current.CancellationToken))!.Version);
        Assert.Equal(1, conflicts.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    /// <summary>A refresh lock whose handles can be lost on demand, as a lapsed lease would be.</summary>
    private sealed class LosableLock : IPitchlyRefreshLock
    {
        private CancellationTokenSource? _current;
        private int _acquisitions;

        public int LoseFirstHandles { get; init; }

        public int Acquisitions => Volatile.Read(ref _acquisitions);

        public void LoseCurrent() => _current?.Cancel();

        public ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        {
            var lost = new CancellationTokenSource();
            if (Interlocked.Increment(ref _acquisitions) <= LoseFirstHandles)
            {
                lost.Cancel();
            }

            _current = lost;
            return ValueTask.FromResult<IPitchlyRefreshLockHandle>(new Handle(lost));
        }

        private sealed class Handle(CancellationTokenSource lost) : IPitchlyRefreshLockHandle
        {
            public CancellationToken LockLost => lost.Token;

            public ValueTask DisposeAsync()
            {
                lost.Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}

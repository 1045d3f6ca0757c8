namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The callers of a refresh get the stored tokens without waiting for the refresh lock's release (one more round trip
/// to Redis in a web farm), and a release that fails costs them nothing: the lock lapses with its lease.
/// </summary>
public sealed class LockReleaseTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    [Fact]
    public async Task Callers_get_the_refreshed_token_while_the_lock_release_is_still_in_flight()
    {
        var refreshLock = new HeldReleaseLock();
        await using var app = await TestServices.SignInAtEmulatorAsync(User, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock));
        var (pitchly, time, services, stored, manager) = app;
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        var token = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.NotEqual(stored.AccessToken, token.Value);
        Assert.Equal(token.Value, (await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, TestContext.Current.CancellationToken))!.AccessToken);
        await refreshLock.ReleaseStarted.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.False(refreshLock.Released, "The lock was released before the caller got its token.");
        refreshLock.AllowRelease.SetResult();
        await refreshLock.ReleaseFinished.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(1, refreshLock.Acquisitions);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task A_lock_release_that_fails_after_the_tokens_were_stored_still_serves_the_new_token_and_the_next_refresh_runs()
    {
        var refreshLock = new HeldReleaseLock { FailRelease = true };
        refreshLock.AllowRelease.SetResult();
        await using var app = await TestServices.SignInAtEmulatorAsync(User, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock));
        var (pitchly, time, _, _, manager) = app;

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var first = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);
        await refreshLock.ReleaseFinished.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var second = await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);

        Assert.NotEqual(first.Value, second.Value);
        Assert.Equal(2, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshTokenReuse);
    }

    private sealed class HeldReleaseLock : IPitchlyRefreshLock
    {
        private int _acquisitions;

        public TaskCompletionSource AllowRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseFinished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool FailRelease { get; init; }

        public bool Released { get; private set; }

        public int Acquisitions => Volatile.Read(ref _acquisitions);

        public ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _acquisitions);
            return ValueTask.FromResult<IPitchlyRefreshLockHandle>(new Handle(this));
        }

        private sealed class Handle(HeldReleaseLock owner) : IPitchlyRefreshLockHandle
        {
            public CancellationToken LockLost => CancellationToken.None;

            public async ValueTask DisposeAsync()
            {
                owner.ReleaseStarted.TrySetResult();
                await owner.AllowRelease.Task;
                owner.Released = true;
                owner.ReleaseFinished.TrySetResult();
                if (owner.FailRelease)
                {
                    throw new InvalidOperationException("The lock's store could not be reached.");
                }
            }
        }
    }
}

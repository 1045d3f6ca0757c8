namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>A refresh that runs out of time, or whose lock is not granted in time, fails with a retryable Pitchly exception.</summary>
public sealed class RefreshTimeoutTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_refresh_past_its_refresh_timeout_fails_with_a_retryable_refresh_timeout_naming_the_setting()
    {
        var refreshLock = new NeverGrantedLock();
        await using var app = await TestServices.SignInAtFakeAsync(
            User, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock), o => o.RefreshTimeout = TimeSpan.FromSeconds(10));

        var refresh = app.Manager.RefreshAsync(User, app.Stored.AccessToken, Cancel);
        await refreshLock.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(15), Cancel);
        app.Time.Advance(TimeSpan.FromSeconds(11));
        var failure = await Assert.ThrowsAsync<PitchlyRefreshTimeoutException>(() => refresh);

        Assert.IsNotType<PitchlyRefreshLockTimeoutException>(failure);
        Assert.True(failure.IsRetryable);
        Assert.Equal(User, failure.Key);
        Assert.Equal(TimeSpan.FromSeconds(10), failure.Timeout);
        Assert.Contains("Pitchly:TokenManagement:RefreshTimeout", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, app.Pitchly.RefreshGrants);
    }

    [Fact]
    public async Task A_lock_of_the_apps_own_that_gives_up_with_a_timeout_exception_is_a_retryable_lock_timeout()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User, s => s.AddSingleton<IPitchlyRefreshLock>(new TimingOutLock()));

        var failure = await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await app.Manager.RefreshAsync(User, app.Stored.AccessToken, Cancel));

        Assert.True(failure.IsRetryable);
        Assert.Equal(User, failure.Key);
        Assert.IsType<TimeoutException>(failure.InnerException);
        Assert.Equal(0, app.Pitchly.RefreshGrants);
    }

    private sealed class NeverGrantedLock : IPitchlyRefreshLock
    {
        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        {
            Waiting.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("Never granted.");
        }
    }

    private sealed class TimingOutLock : IPitchlyRefreshLock
    {
        public ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<IPitchlyRefreshLockHandle>(new TimeoutException("The lock was not granted in time."));
    }
}

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// Wraps the farm's refresh lock to tell <see cref="RefreshTracker"/> when a refresh ends: the token manager takes the
/// lock for every refresh and releases it once the refreshed tokens are stored (or the refresh failed).
/// </summary>
internal sealed class TrackingRefreshLock(IPitchlyRefreshLock inner, RefreshTracker tracker) : IPitchlyRefreshLock
{
    public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default) =>
        new Handle(await inner.AcquireAsync(key, cancellationToken), key, tracker);

    private sealed class Handle(IPitchlyRefreshLockHandle inner, PitchlyTokenKey key, RefreshTracker tracker) : IPitchlyRefreshLockHandle
    {
        public CancellationToken LockLost => inner.LockLost;

        public ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default) =>
            inner.ExtendAsync(duration, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            tracker.OnEnded(key);
        }
    }
}

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The lock for a single instance: granted at once, because the token manager's single flight per key already
/// serialises refreshes within the process. Web farms replace it with the Redis lock.
/// </summary>
internal sealed class InProcessRefreshLock : IPitchlyRefreshLock
{
    public ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IPitchlyRefreshLockHandle>(Handle.Instance);

    private sealed class Handle : IPitchlyRefreshLockHandle
    {
        public static readonly Handle Instance = new();

        public CancellationToken LockLost => CancellationToken.None;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

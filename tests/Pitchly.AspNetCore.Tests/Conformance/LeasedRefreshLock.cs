namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>
/// A refresh lock over shared, in-process leases (what a lock table or key would hold), correct or with one
/// <see cref="RefreshLockFault"/>; <see cref="Leases.End"/> ends a lease as an expiry would.
/// </summary>
public sealed class LeasedRefreshLock(LeasedRefreshLock.Leases leases) : IPitchlyRefreshLock
{
    public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (leases.TryTake(key) is { } handle)
            {
                return handle;
            }

            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>The leases every instance "over the same data" shares.</summary>
    public sealed class Leases(RefreshLockFault fault)
    {
        private readonly Dictionary<PitchlyTokenKey, Handle> _holders = [];

        public void End(PitchlyTokenKey key)
        {
            Handle? ended;
            lock (_holders)
            {
                _holders.Remove(key, out ended);
            }

            if (ended is not null && fault != RefreshLockFault.NeverSignalsLostLease)
            {
                ended.Lose();
            }
        }

        internal Handle? TryTake(PitchlyTokenKey key)
        {
            lock (_holders)
            {
                if (_holders.ContainsKey(key) && fault != RefreshLockFault.GrantsEveryone)
                {
                    return null;
                }

                return _holders[key] = new Handle(this, key);
            }
        }

        internal void Release(Handle handle)
        {
            lock (_holders)
            {
                if (fault == RefreshLockFault.ReleasesAnyHolder || (_holders.TryGetValue(handle.Key, out var holder) && holder == handle))
                {
                    _holders.Remove(handle.Key);
                }
            }
        }
    }

    internal sealed class Handle(Leases leases, PitchlyTokenKey key) : IPitchlyRefreshLockHandle
    {
        private readonly CancellationTokenSource _lost = new();

        public PitchlyTokenKey Key => key;

        public CancellationToken LockLost => _lost.Token;

        public void Lose()
        {
            try
            {
                _lost.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Released meanwhile: nobody is listening any more.
            }
        }

        public ValueTask DisposeAsync()
        {
            leases.Release(this);
            _lost.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

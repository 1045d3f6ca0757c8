namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// The Redis refresh lock's contract in one process: SET NX PX with a lease on the server's clock, renewed while the
/// holder runs (a frozen holder renews nothing, so its lease lapses and <see cref="IPitchlyRefreshLockHandle.LockLost"/>
/// fires), released by compare-and-delete on the owner.
/// </summary>
internal sealed class ModelRefreshLock(Farm farm, FarmInstance instance) : IPitchlyRefreshLock, Internal.IRefreshLockProbe
{
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            await instance.PointAsync("lock");
            if (farm.Locks.TryTake(key, instance.Name, out var owner))
            {
                return new Handle(farm, instance, key, owner);
            }

            await Task.Delay(Poll, farm.Time, cancellationToken);
        }
    }

    public async ValueTask<IPitchlyRefreshLockHandle?> TryAcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken)
    {
        await instance.PointAsync("lock");
        return farm.Locks.TryTake(key, instance.Name, out var owner) ? new Handle(farm, instance, key, owner) : null;
    }

    private sealed class Handle : IPitchlyRefreshLockHandle
    {
        private readonly Farm _farm;
        private readonly FarmInstance _instance;
        private readonly PitchlyTokenKey _key;
        private readonly string _owner;
        private readonly CancellationTokenSource _lost = new();
        private readonly ITimer _renewal;

        public Handle(Farm farm, FarmInstance instance, PitchlyTokenKey key, string owner)
        {
            _farm = farm;
            _instance = instance;
            _key = key;
            _owner = owner;
            _renewal = farm.Time.CreateTimer(_ => Renew(), null, Lease / 3, Lease / 3);
            instance.LocksHeld++;
            instance.ReReadPending = true;
        }

        public CancellationToken LockLost => _lost.Token;

        public async ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default)
        {
            await _instance.PointAsync("lock-extend");
            return _farm.Locks.TryExtend(_key, _owner, duration);
        }

        public async ValueTask DisposeAsync()
        {
            _renewal.Dispose();
            _instance.LocksHeld--;
            await _instance.PointAsync("lock-release");
            _farm.Locks.Release(_key, _owner);
            _lost.Dispose();
        }

        private void Renew()
        {
            if (_instance.IsFrozen)
            {
                return; // a frozen process renews nothing
            }

            if (!_farm.Locks.TryExtend(_key, _owner, Lease))
            {
                try
                {
                    _lost.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }
}

/// <summary>The lock server's state: one owner and lease expiry per key, judged on the server's clock.</summary>
internal sealed class ModelLockServer(TimeProvider clock)
{
    private readonly object _gate = new();
    private readonly Dictionary<PitchlyTokenKey, (string Owner, DateTimeOffset Expiry)> _held = [];
    private int _owners;

    public bool TryTake(PitchlyTokenKey key, string instance, out string owner)
    {
        lock (_gate)
        {
            owner = $"{instance}/lock{++_owners}";
            var now = clock.GetUtcNow();
            if (_held.TryGetValue(key, out var held) && held.Expiry > now)
            {
                return false;
            }

            _held[key] = (owner, now + ModelRefreshLock.Lease);
            return true;
        }
    }

    public bool TryExtend(PitchlyTokenKey key, string owner, TimeSpan duration)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            if (!_held.TryGetValue(key, out var held) || held.Owner != owner || held.Expiry <= now)
            {
                return false;
            }

            _held[key] = (owner, now + duration);
            return true;
        }
    }

    public void Release(PitchlyTokenKey key, string owner)
    {
        lock (_gate)
        {
            if (_held.TryGetValue(key, out var held) && held.Owner == owner)
            {
                _held.Remove(key);
            }
        }
    }
}

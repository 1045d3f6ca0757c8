namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// The Redis refresh lock's contract in one process: SET NX PX with a lease on the server's clock, renewed while the
/// holder runs (a frozen holder renews nothing, so its lease lapses and <see cref="IPitchlyRefreshLockHandle.LockLost"/>
/// fires), released by compare-and-delete on the owner. With the wait check (<see cref="Internal.IRefreshLockWaitCheck"/>)
/// it waits as the Redis lock does: a waiter marks the lock while the record is still at the version it read, is woken by
/// a release that finds the mark or by any write of the record (or polls), and reads the record whenever it would go on
/// waiting, leaving without the lock once that read makes it unnecessary.
/// </summary>
internal sealed class ModelRefreshLock(Farm farm, FarmInstance instance) : IPitchlyRefreshLock, Internal.IRefreshLockProbe, Internal.IRefreshLockWaitCheck
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

    /// <summary>
    /// RedisRefreshLock.AcquireAsync with a check: the first attempt marks nothing (no version read yet); after a failed
    /// attempt the waiter waits (only when it marked) and then reads the record; an attempt that finds the record moved
    /// past the version read marks nothing and reads again at once.
    /// </summary>
    public async ValueTask<IPitchlyRefreshLockHandle?> AcquireUnlessUnneededAsync(
        PitchlyTokenKey key,
        Func<CancellationToken, ValueTask<long?>> stillNeeded,
        CancellationToken cancellationToken)
    {
        var mark = false;
        long version = 0;
        while (true)
        {
            await instance.PointAsync("lock");

            // Joined before the attempt, as in the Redis lock: an announcement between the attempt and the wait is kept.
            var woken = farm.Locks.Signal(key);
            var attempt = farm.Locks.TryTakeOrMark(key, instance.Name, mark ? version : null, () => CurrentVersion(key), out var owner);
            if (attempt == ModelLockServer.Attempt.Taken)
            {
                return new Handle(farm, instance, key, owner);
            }

            if (attempt == ModelLockServer.Attempt.Marked)
            {
                // Woken by the release (it finds the mark) or by a write of the record; the poll covers a lapsed lease.
                using var pause = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                await Task.WhenAny(woken, Task.Delay(Poll, farm.Time, pause.Token));
                pause.Cancel(); // no stray timer left for the clock to jump to
                cancellationToken.ThrowIfCancellationRequested();
            }

            // After the wait, or at once when nothing was marked (the first attempt, or the record moved past the version
            // read): read the record, a step where the instance may freeze or crash like any other.
            await instance.PointAsync("lock-wait-check");
            if (await stillNeeded(cancellationToken) is not { } read)
            {
                farm.Log($"{instance.Name} stops waiting for the lock: the record makes it unneeded");
                return null;
            }

            version = read;
            mark = true;
        }
    }

    /// <summary>The version of the shared record now (0 when there is none), as the acquire script reads it.</summary>
    private long CurrentVersion(PitchlyTokenKey key)
    {
        var read = instance.SharedStore.GetAsync(key);
        Microsoft.Coyote.Specifications.Specification.Assert(read.IsCompletedSuccessfully, "the model's shared stores answer at once");
        return read.Result?.Version ?? 0;
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

/// <summary>
/// The lock server's state: one owner and lease expiry per key, judged on the server's clock; the waiter marks of
/// lock-acquire.lua, and the announcements that wake waiting acquisitions (a release that finds a mark, any write of the
/// record), delivered to every instance at once.
/// </summary>
internal sealed class ModelLockServer(TimeProvider clock)
{
    private readonly object _gate = new();
    private readonly Dictionary<PitchlyTokenKey, (string Owner, DateTimeOffset Expiry)> _held = [];
    private readonly HashSet<PitchlyTokenKey> _marked = [];
    private readonly Dictionary<PitchlyTokenKey, TaskCompletionSource> _signals = [];
    private int _owners;

    /// <summary>What an attempt of lock-acquire.lua did.</summary>
    public enum Attempt
    {
        /// <summary>The lock was free and is now the caller's.</summary>
        Taken,

        /// <summary>Held by another owner; nothing marked (the caller will not wait, or knows no version yet).</summary>
        Held,

        /// <summary>Held by another owner, and marked as waited for: its release is announced.</summary>
        Marked,

        /// <summary>Held by another owner, and the record moved past the version the caller read: nothing marked.</summary>
        Moved,
    }

    public bool TryTake(PitchlyTokenKey key, string instance, out string owner)
        => TryTakeOrMark(key, instance, markAt: null, currentVersion: null, out owner) == Attempt.Taken;

    /// <summary>
    /// One attempt of lock-acquire.lua: takes the lock when free; else, with <paramref name="markAt"/>, marks it as waited
    /// for while the record is still at that version (0: whatever the version).
    /// </summary>
    public Attempt TryTakeOrMark(PitchlyTokenKey key, string instance, long? markAt, Func<long>? currentVersion, out string owner)
    {
        lock (_gate)
        {
            owner = $"{instance}/lock{++_owners}";
            var now = clock.GetUtcNow();
            if (!_held.TryGetValue(key, out var held) || held.Expiry <= now)
            {
                _held[key] = (owner, now + ModelRefreshLock.Lease);
                return Attempt.Taken;
            }

            if (markAt is not { } version)
            {
                return Attempt.Held;
            }

            if (version != 0 && currentVersion!() != version)
            {
                return Attempt.Moved;
            }

            // The mark lives longer than a waiter's pause between two attempts, each of which marks again: it is not
            // made to lapse here (one that outlives its waiter only announces a release to no one).
            _marked.Add(key);
            return Attempt.Marked;
        }
    }

    /// <summary>The signal of the next announcement for <paramref name="key"/>; joined before an attempt.</summary>
    public Task Signal(PitchlyTokenKey key)
    {
        lock (_gate)
        {
            if (!_signals.TryGetValue(key, out var signal))
            {
                // Continuations run inline, on the announcing (controlled) thread: with RunContinuationsAsynchronously the
                // waiter's Task.WhenAny completed on the thread pool, outside Coyote's control, and the model's clock could
                // run ahead of a waiter already woken (a waiter then slept through its whole RefreshTimeout).
                signal = new TaskCompletionSource();
                _signals.Add(key, signal);
            }

            return signal.Task;
        }
    }

    /// <summary>A write of the record took effect (set, compare-and-swap, remove): announced, it consumes the mark.</summary>
    public void RecordWritten(PitchlyTokenKey key)
    {
        TaskCompletionSource? signal;
        lock (_gate)
        {
            _marked.Remove(key);
            _signals.Remove(key, out signal);
        }

        signal?.TrySetResult();
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

    /// <summary>lock-release.lua: compare-and-delete on the owner, announced only when a waiter marked the lock.</summary>
    public void Release(PitchlyTokenKey key, string owner)
    {
        TaskCompletionSource? signal = null;
        lock (_gate)
        {
            if (_held.TryGetValue(key, out var held) && held.Owner == owner)
            {
                _held.Remove(key);
                if (_marked.Remove(key))
                {
                    _signals.Remove(key, out signal);
                }
            }
        }

        signal?.TrySetResult();
    }
}

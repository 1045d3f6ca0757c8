using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The web-farm refresh lock: <c>SET {prefix}:{bucket}:lock:{hash} {owner} NX PX {lease}</c>, renewed every third of the lease
/// while held, released by a compare-and-delete script that announces the release so waiters retry at once
/// (polling covers a lost announcement or an expired lease).
/// </summary>
/// <remarks>
/// Acquiring the lock evicts this instance's cached copy of the key's record, so the holder's re-read goes to Redis
/// and sees what the previous holder wrote.
/// </remarks>
internal sealed class RedisRefreshLock : IPitchlyRefreshLock, IRefreshLockProbe
{
    private readonly RedisConnection _connection;
    private readonly RedisPitchlyTokenStore _store;
    private readonly PitchlyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PitchlyRedisOptions _options;
    // One signal per hashed key that this instance's acquisitions wait on; it leaves with its last waiter.
    private readonly Dictionary<string, ReleaseSignal> _releases = new(StringComparer.Ordinal);

    public RedisRefreshLock(
        RedisConnection connection,
        RedisPitchlyTokenStore store,
        PitchlyMetrics metrics,
        TimeProvider timeProvider,
        ILogger<RedisRefreshLock> logger)
    {
        _connection = connection;
        _options = connection.Options;
        _store = store;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        connection.LockReleased += OnLockReleased;
    }

    public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return (await AcquireAsync(key, waitWhileHeld: true, cancellationToken))!;
    }

    public ValueTask<IPitchlyRefreshLockHandle?> TryAcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return AcquireAsync(key, waitWhileHeld: false, cancellationToken);
    }

    private async ValueTask<IPitchlyRefreshLockHandle?> AcquireAsync(PitchlyTokenKey key, bool waitWhileHeld, CancellationToken cancellationToken)
    {
        using var activity = PitchlyMetrics.ActivitySource.StartActivity("pitchly.lock.acquire");
        var hash = RedisKeyNames.Hash(key);
        var lockKey = _connection.Names.Lock(hash);
        var owner = Guid.NewGuid().ToString("N");
        var started = _timeProvider.GetTimestamp();
        while (true)
        {
            // Joined before the attempt, so a release announced between a failed attempt and the wait is not missed.
            var released = JoinReleaseSignal(hash);
            try
            {
                var attempted = _timeProvider.GetTimestamp();
                IDatabase? database = null;
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    database = await _connection.GetDatabaseAsync(cancellationToken);
                    if (await database.StringSetAsync(lockKey, owner, _options.LockLease, When.NotExists))
                    {
                        var waited = _timeProvider.GetElapsedTime(started);
                        _metrics.LockWait.Record(waited.TotalMilliseconds, new KeyValuePair<string, object?>("outcome", "acquired"));
                        RedisLog.LockAcquired(_logger, hash, waited.TotalMilliseconds);
                        _store.EvictLocalCopy(key);
                        return new Handle(this, database, lockKey, hash, owner, attempted);
                    }
                }
                catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
                {
                    if (exception is TimeoutException && database is not null)
                    {
                        // A SET NX whose reply timed out may have been applied: without a release, the key would keep
                        // every instance waiting for a whole lease.
                        ReleaseLater(database, lockKey, hash, owner, attempted + LeaseTicks(_options.LockLease));
                    }

                    _metrics.StoreUnavailable.Add(1);
                    RedisLog.RedisUnavailable(_logger, "a lock acquisition", exception);
                    activity?.SetStatus(ActivityStatusCode.Error);
                    throw RedisFailures.Unavailable("a lock acquisition", exception);
                }

                if (!waitWhileHeld)
                {
                    _metrics.LockWait.Record(_timeProvider.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("outcome", "held"));
                    return null;
                }

                var remaining = _options.LockWaitTimeout - _timeProvider.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    _metrics.LockWait.Record(_timeProvider.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("outcome", "timeout"));
                    RedisLog.LockWaitTimedOut(_logger, hash, _options.LockWaitTimeout);
                    activity?.SetStatus(ActivityStatusCode.Error);
                    throw new TimeoutException(
                        $"The Pitchly refresh lock of key {hash} was not granted within {_options.LockWaitTimeout} "
                        + "(PitchlyRedisOptions.LockWaitTimeout): another instance held it longer. Nothing was refreshed; retry later.");
                }

                var poll = remaining < _options.LockPollInterval ? remaining : _options.LockPollInterval;
                await Task.WhenAny(released.Completion.Task, Task.Delay(poll, _timeProvider, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                LeaveReleaseSignal(hash, released);
            }
        }
    }

    /// <summary>
    /// Releases a lock this instance may hold once Redis answers again: not awaited, so the caller hears of the outage
    /// at once; retried every <see cref="PitchlyRedisOptions.LockPollInterval"/> while the connection is down, until
    /// <paramref name="leaseEnds"/> (a timestamp), when the lease would have ended anyway. The owner is this holder's
    /// alone, so the compare-and-delete only removes the lock it took.
    /// </summary>
    private void ReleaseLater(IDatabase database, RedisKey lockKey, string hash, string owner, long leaseEnds)
    {
        _ = ReleaseAsync();

        async Task ReleaseAsync()
        {
            while (true)
            {
                await Task.Delay(_options.LockPollInterval, _timeProvider);
                try
                {
                    await database.ScriptEvaluateAsync(RedisScripts.ReleaseLock, [lockKey], [owner, _connection.Names.ChannelName(hash), hash, _connection.PublishMode]);
                    return;
                }
                catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
                {
                    if (_timeProvider.GetTimestamp() + LeaseTicks(_options.LockPollInterval) >= leaseEnds)
                    {
                        RedisLog.LockReleaseFailed(_logger, hash, exception);
                        return;
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The multiplexer is gone with the application; the lock expires with its lease.
                    return;
                }
            }
        }
    }

    private long LeaseTicks(TimeSpan duration) => (long)(duration.TotalSeconds * _timeProvider.TimestampFrequency);

    /// <summary>Gets the number of keys this instance's acquisitions are waiting to hear released.</summary>
    internal int ReleaseSignalCount
    {
        get
        {
            lock (_releases)
            {
                return _releases.Count;
            }
        }
    }

    private ReleaseSignal JoinReleaseSignal(string hash)
    {
        lock (_releases)
        {
            if (!_releases.TryGetValue(hash, out var signal))
            {
                signal = new ReleaseSignal();
                _releases.Add(hash, signal);
            }

            signal.Waiters++;
            return signal;
        }
    }

    private void LeaveReleaseSignal(string hash, ReleaseSignal signal)
    {
        lock (_releases)
        {
            // A release announcement may already have replaced it with a newer signal, which stays for its waiters.
            if (--signal.Waiters == 0 && _releases.TryGetValue(hash, out var current) && current == signal)
            {
                _releases.Remove(hash);
            }
        }
    }

    private void OnLockReleased(string hash)
    {
        ReleaseSignal? released;
        lock (_releases)
        {
            _releases.Remove(hash, out released);
        }

        released?.Completion.TrySetResult();
    }

    private sealed class ReleaseSignal
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }

    private sealed class Handle : IPitchlyRefreshLockHandle
    {
        private readonly RedisRefreshLock _lock;
        private readonly IDatabase _database;
        private readonly RedisKey _lockKey;
        private readonly string _hash;
        private readonly string _owner;
        private readonly CancellationTokenSource _lost = new();
        private readonly CancellationTokenSource _stopRenewal = new();
        private readonly Task _renewal;
        private long _coverUntil;
        private int _disposed;

        public Handle(RedisRefreshLock owner, IDatabase database, RedisKey lockKey, string hash, string ownerValue, long leaseStarted)
        {
            _lock = owner;
            _database = database;
            _lockKey = lockKey;
            _hash = hash;
            _owner = ownerValue;
            _renewal = RenewAsync(leaseStarted);
        }

        public CancellationToken LockLost => _lost.Token;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await _stopRenewal.CancelAsync();
            await _renewal;
            _stopRenewal.Dispose();
            try
            {
                // Compare-and-delete: a no-op when the lease expired and someone else holds the lock now.
                await _database.ScriptEvaluateAsync(
                    RedisScripts.ReleaseLock,
                    [_lockKey],
                    [_owner, _lock._connection.Names.ChannelName(_hash), _hash, _lock._connection.PublishMode]);
            }
            catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
            {
                // The lease may have been stretched over a fence (ExtendAsync): rather than keep every other instance
                // waiting that long, release it as soon as Redis answers again.
                RedisLog.LockReleaseRetried(_lock._logger, _hash, exception);
                var time = _lock._timeProvider;
                var leaseEnds = Math.Max(time.GetTimestamp() + _lock.LeaseTicks(_lock._options.LockLease), Volatile.Read(ref _coverUntil));
                _lock.ReleaseLater(_database, _lockKey, _hash, _owner, leaseEnds);
            }
            catch (ObjectDisposedException)
            {
                // The multiplexer is gone with the application; the lock expires with its lease.
            }
        }

        public async ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default)
        {
            var time = _lock._timeProvider;
            var sent = time.GetTimestamp();
            Volatile.Write(ref _coverUntil, sent + (long)(duration.TotalSeconds * time.TimestampFrequency));
            if (duration <= _lock._options.LockLease)
            {
                return !_lost.IsCancellationRequested;
            }

            try
            {
                // One renewal now with the longer lease; the renewal loop keeps it that long from then on.
                var renewed = await _database
                    .ScriptEvaluateAsync(RedisScripts.RenewLock, [_lockKey], [_owner, (long)Math.Ceiling(duration.TotalMilliseconds)])
                    .WaitAsync(_lock._options.LockLease / 3, time, cancellationToken);
                return (long)renewed == 1;
            }
            catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is TimeoutException)
            {
                RedisLog.LockRenewalFailed(_lock._logger, _hash, exception);
                return false;
            }
        }

        /// <summary>
        /// Renews the lease every third of it, until the handle is disposed. The lease is known to hold until (send time
        /// of the last successful renewal + lease): Redis starts counting later than we sent, so that bound is
        /// conservative. The last third of that lease is a safety margin: <see cref="LockLost"/> fires once no renewal
        /// succeeded and only the margin remains, or at once when a renewal finds the lock gone or owned by another. A
        /// missed margin does not stop the renewals: while the key still holds this owner, a late renewal keeps other
        /// instances queueing on the lock instead of at the record's fence (which is what keeps the refresh token safe).
        /// </summary>
        private async Task RenewAsync(long leaseStarted)
        {
            var time = _lock._timeProvider;
            var lease = _lock._options.LockLease;
            var interval = lease / 3;
            var heldFor = lease - (lease / 3);
            var retryDelay = interval / 4;
            var renewedAt = leaseStarted;
            var stop = _stopRenewal.Token;
            try
            {
                while (true)
                {
                    var untilRenewal = interval - time.GetElapsedTime(renewedAt);
                    if (untilRenewal > TimeSpan.Zero)
                    {
                        await Task.Delay(untilRenewal, time, stop);
                    }

                    var untilMargin = heldFor - time.GetElapsedTime(renewedAt);
                    if (untilMargin <= TimeSpan.Zero && !_lost.IsCancellationRequested)
                    {
                        MarkLost("no renewal reached Redis before the last third of the lease");
                    }

                    var sent = time.GetTimestamp();
                    var cover = time.GetElapsedTime(sent, Volatile.Read(ref _coverUntil));
                    var leaseMilliseconds = (long)Math.Ceiling((cover > lease ? cover : lease).TotalMilliseconds);
                    try
                    {
                        // Bounded by the margin while the lock is still trusted: a reply that comes later cannot be trusted
                        // to leave enough lease. Once lost, renewals keep trying at the usual pace.
                        var renewed = await _database
                            .ScriptEvaluateAsync(RedisScripts.RenewLock, [_lockKey], [_owner, leaseMilliseconds])
                            .WaitAsync(untilMargin > TimeSpan.Zero ? untilMargin : interval, time, stop);
                        if ((long)renewed != 1)
                        {
                            if (!_lost.IsCancellationRequested)
                            {
                                MarkLost("the lock's key is gone or owned by another holder");
                            }

                            return;
                        }

                        renewedAt = sent;
                    }
                    catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is TimeoutException)
                    {
                        RedisLog.LockRenewalFailed(_lock._logger, _hash, exception);
                        if (heldFor - time.GetElapsedTime(renewedAt) <= TimeSpan.Zero && !_lost.IsCancellationRequested)
                        {
                            MarkLost("no renewal reached Redis before the last third of the lease");
                        }

                        // A disconnected multiplexer fails at once: retry soon, without spinning.
                        await Task.Delay(retryDelay, time, stop);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Released by its holder.
            }
            catch (ObjectDisposedException)
            {
                // The multiplexer was disposed (the application is shutting down): the lease can no longer be kept.
                _lost.Cancel();
            }
        }

        private void MarkLost(string reason)
        {
            _lock._metrics.LockLost.Add(1);
            RedisLog.LockLost(_lock._logger, _hash, reason);
            _lost.Cancel();
        }
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The web-farm refresh lock: <c>SET {prefix}:{bucket}:lock:{hash} {owner} NX PX {lease}</c> (<c>lock-acquire.lua</c>,
/// which also marks a held lock as waited for when the caller will wait), renewed every third of the lease while held,
/// released by a compare-and-delete script that announces the release when it was waited for, so waiters retry at once
/// (polling covers a lost announcement or an expired lease). An announced write of the record wakes the waiters too, and
/// consumes the mark.
/// </summary>
/// <remarks>
/// Acquiring the lock evicts this instance's cached copy of the key's record, so the holder's re-read goes to Redis
/// and sees what the previous holder wrote.
/// </remarks>
internal sealed class RedisRefreshLock : IPitchlyRefreshLock, IRefreshLockProbe, IRefreshLockWaitCheck
{
    private readonly RedisConnection _connection;
    private readonly RedisPitchlyTokenStore _store;
    private readonly PitchlyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PitchlyRedisOptions _options;
    private readonly RedisLockRelease _release;
    private readonly RedisFailureReporter _failures;
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
        _release = new RedisLockRelease(connection, timeProvider, logger);
        _failures = new RedisFailureReporter(metrics, logger);
        connection.LockReleased += OnLockReleased;

        // A write of the record consumes the lock's waiter marks (its announcement wakes the waiters instead).
        connection.RecordChanged += (hash, _) => OnLockReleased(hash);
    }

    public async ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return (await AcquireAsync(key, waitWhileHeld: true, stillNeeded: null, cancellationToken))!;
    }

    public ValueTask<IPitchlyRefreshLockHandle?> TryAcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return AcquireAsync(key, waitWhileHeld: false, stillNeeded: null, cancellationToken);
    }

    public ValueTask<IPitchlyRefreshLockHandle?> AcquireUnlessUnneededAsync(
        PitchlyTokenKey key,
        Func<CancellationToken, ValueTask<long?>> stillNeeded,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(stillNeeded);
        return AcquireAsync(key, waitWhileHeld: true, stillNeeded, cancellationToken);
    }

    /// <summary>
    /// Takes the lock; while it is held and <paramref name="waitWhileHeld"/>, waits for its release (announced, or polled).
    /// With <paramref name="stillNeeded"/>, the waiter reads the record whenever it would go on waiting and gives up
    /// (<see langword="null"/>) once the record makes the lock unnecessary; it marks the lock as waited for only while the
    /// record is still at the version it read, as any later write is announced to it anyway (and consumes the marks,
    /// see <c>compare-and-swap.lua</c>). So a holder's write wakes every such waiter, which leaves on the tokens written
    /// without taking the lock, and the release that follows is announced to no one.
    /// </summary>
    private async ValueTask<IPitchlyRefreshLockHandle?> AcquireAsync(
        PitchlyTokenKey key,
        bool waitWhileHeld,
        Func<CancellationToken, ValueTask<long?>>? stillNeeded,
        CancellationToken cancellationToken)
    {
        using var activity = PitchlyMetrics.ActivitySource.StartActivity("pitchly.lock.acquire");
        var hash = RedisKeyNames.Hash(key);
        var lockKey = _connection.Names.Lock(hash);
        var waitersKey = _connection.Names.LockWaiters(hash);
        var recordKey = _connection.Names.Record(hash);
        var leaseMilliseconds = (long)Math.Ceiling(_options.LockLease.TotalMilliseconds);

        // A waiter pauses at most one poll interval between attempts, each of which marks the lock again.
        var markMilliseconds = (long)Math.Ceiling((_options.LockPollInterval + _options.LockLease).TotalMilliseconds);
        var owner = Guid.NewGuid().ToString("N");
        var started = _timeProvider.GetTimestamp();

        // With a check, the first attempt marks nothing: the record's version is not known yet.
        var mark = waitWhileHeld && stillNeeded is null;
        long version = 0;
        while (true)
        {
            // Joined before the attempt, so a release or write announced between a failed attempt and the wait is not missed.
            var released = JoinReleaseSignal(hash);
            try
            {
                var attempted = _timeProvider.GetTimestamp();
                IDatabase? database = null;
                long taken;
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    database = await _connection.GetDatabaseAsync(cancellationToken);
                    taken = (long)await database.ScriptEvaluateAsync(
                        RedisScripts.AcquireLock,
                        [lockKey, waitersKey, recordKey],
                        [owner, leaseMilliseconds, mark ? "1" : string.Empty, markMilliseconds, version]);
                    if (taken == 1)
                    {
                        var waited = _timeProvider.GetElapsedTime(started);
                        _metrics.LockWait.Record(waited.TotalMilliseconds, new KeyValuePair<string, object?>("outcome", "acquired"));
                        RedisLog.LockAcquired(_logger, hash, waited.TotalMilliseconds);
                        _store.EvictLocalCopy(key);
                        return new RedisRefreshLockHandle(
                            new HeldLock(database, lockKey, hash, owner), attempted, _release, _options.LockLease, _timeProvider, _metrics, _logger);
                    }
                }
                catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
                {
                    if (exception is TimeoutException && database is not null)
                    {
                        // A SET NX whose reply timed out may have been applied: without a release, the key would keep
                        // every instance waiting for a whole lease.
                        _release.ReleaseLater(new HeldLock(database, lockKey, hash, owner), attempted + _release.Ticks(_options.LockLease));
                    }

                    var unavailable = _failures.Unavailable("a lock acquisition", exception);
                    activity?.SetStatus(ActivityStatusCode.Error);
                    throw unavailable;
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
                    throw new PitchlyRefreshLockTimeoutException(
                        key,
                        _options.LockWaitTimeout,
                        $"The Pitchly refresh lock of key {hash} was not granted within {_options.LockWaitTimeout} "
                        + "(PitchlyRedisOptions.LockWaitTimeout): another instance held it longer. Nothing was refreshed; retry later.");
                }

                if (taken == 0 && mark)
                {
                    // Marked: the release is announced, and so is any write of the record before it.
                    var poll = remaining < _options.LockPollInterval ? remaining : _options.LockPollInterval;
                    await Task.WhenAny(released.Completion.Task, Task.Delay(poll, _timeProvider, cancellationToken));
                    cancellationToken.ThrowIfCancellationRequested();
                }
                else if (taken == 2)
                {
                    // Not marked, as the record moved past the version read: read it again, from Redis.
                    _store.EvictLocalCopy(key);
                }

                if (stillNeeded is not null)
                {
                    if (await stillNeeded(cancellationToken) is not { } read)
                    {
                        _metrics.LockWait.Record(_timeProvider.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("outcome", "reused_newer"));
                        RedisLog.LockWaitUnneeded(_logger, hash);
                        return null;
                    }

                    version = read;
                    mark = true;
                }
            }
            finally
            {
                LeaveReleaseSignal(hash, released);
            }
        }
    }

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
}

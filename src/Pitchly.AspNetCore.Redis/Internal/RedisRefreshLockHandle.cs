using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// A held refresh lock: renews its lease every third of it while held, reports through <see cref="LockLost"/> when the
/// lease can no longer be trusted, and releases the lock when disposed.
/// </summary>
internal sealed class RedisRefreshLockHandle : IPitchlyRefreshLockHandle
{
    private readonly HeldLock _held;
    private readonly RedisLockRelease _release;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopRenewal = new();
    private readonly Task _renewal;
    private long _coverUntil;
    private int _disposed;

    /// <param name="held">The lock taken.</param>
    /// <param name="leaseStarted">When the acquisition that took it was sent (a timestamp): the lease runs from then at the latest.</param>
    /// <param name="release">Releases the lock.</param>
    /// <param name="lease">The lease (<see cref="PitchlyRedisOptions.LockLease"/>).</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="metrics">Counts a lost lock.</param>
    /// <param name="logger">The lock's logger.</param>
    public RedisRefreshLockHandle(HeldLock held, long leaseStarted, RedisLockRelease release, TimeSpan lease, TimeProvider timeProvider, PitchlyMetrics metrics, ILogger logger)
    {
        _held = held;
        _release = release;
        _lease = lease;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
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
            await _release.ReleaseAsync(_held);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            // The lease may have been stretched over a fence (ExtendAsync): rather than keep every other instance
            // waiting that long, release it as soon as Redis answers again.
            RedisLog.LockReleaseRetried(_logger, _held.Hash, exception);
            var leaseEnds = Math.Max(_timeProvider.GetTimestamp() + _release.Ticks(_lease), Volatile.Read(ref _coverUntil));
            _release.ReleaseLater(_held, leaseEnds);
        }
        catch (ObjectDisposedException)
        {
            // The multiplexer is gone with the application; the lock expires with its lease.
        }
    }

    public async ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _coverUntil, _timeProvider.GetTimestamp() + _release.Ticks(duration));
        if (duration <= _lease)
        {
            return !_lost.IsCancellationRequested;
        }

        try
        {
            // One renewal now with the longer lease; the renewal loop keeps it that long from then on.
            var renewed = await _held.Database
                .ScriptEvaluateAsync(RedisScripts.RenewLock, [_held.LockKey], [_held.Owner, (long)Math.Ceiling(duration.TotalMilliseconds)])
                .WaitAsync(_lease / 3, _timeProvider, cancellationToken);
            return (long)renewed == 1;
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is TimeoutException)
        {
            RedisLog.LockRenewalFailed(_logger, _held.Hash, exception);
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
        var time = _timeProvider;
        var lease = _lease;
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
                    var renewed = await _held.Database
                        .ScriptEvaluateAsync(RedisScripts.RenewLock, [_held.LockKey], [_held.Owner, leaseMilliseconds])
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
                    RedisLog.LockRenewalFailed(_logger, _held.Hash, exception);
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
        _metrics.LockLost.Add(1);
        RedisLog.LockLost(_logger, _held.Hash, reason);
        _lost.Cancel();
    }
}

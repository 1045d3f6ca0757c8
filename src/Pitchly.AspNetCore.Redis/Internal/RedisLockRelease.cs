using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Releases refresh locks by compare-and-delete on the owner value (<c>lock-release.lua</c>), which announces the
/// release when an acquisition waits for it, so waiters retry at once; and, when Redis does not answer, again later in the background.
/// </summary>
internal sealed class RedisLockRelease(RedisConnection connection, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Releases <paramref name="held"/>: a no-op when its lease expired and someone else holds the lock now.</summary>
    public Task<RedisResult> ReleaseAsync(HeldLock held) =>
        held.Database.ScriptEvaluateAsync(
            RedisScripts.ReleaseLock,
            [held.LockKey, connection.Names.LockWaiters(held.Hash)],
            [held.Owner, connection.Names.ChannelName(held.Hash), held.Hash, connection.PublishMode]);

    /// <summary>
    /// Releases a lock this instance may hold once Redis answers again: not awaited, so the caller hears of the outage
    /// at once; retried every <see cref="PitchlyRedisOptions.LockPollInterval"/> while the connection is down, until
    /// <paramref name="leaseEnds"/> (a timestamp), when the lease would have ended anyway. The owner is this holder's
    /// alone, so the compare-and-delete only removes the lock it took.
    /// </summary>
    public void ReleaseLater(HeldLock held, long leaseEnds)
    {
        _ = ReleaseWhenAnsweredAsync();

        async Task ReleaseWhenAnsweredAsync()
        {
            var pollInterval = connection.Options.LockPollInterval;
            while (true)
            {
                await Task.Delay(pollInterval, timeProvider);
                try
                {
                    await ReleaseAsync(held);
                    return;
                }
                catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
                {
                    if (timeProvider.GetTimestamp() + Ticks(pollInterval) >= leaseEnds)
                    {
                        RedisLog.LockReleaseFailed(logger, held.Hash, exception);
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

    /// <summary>Converts <paramref name="duration"/> to <see cref="TimeProvider"/> timestamp ticks, the unit lease ends are kept in.</summary>
    public long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * timeProvider.TimestampFrequency);
}

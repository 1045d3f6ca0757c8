namespace Pitchly.AspNetCore.Redis;

/// <summary>What the Redis token store and refresh lock do while Redis cannot be reached.</summary>
/// <remarks>
/// Under every policy a refresh needs the distributed lock, so no instance ever spends a refresh token on its own
/// while Redis is down: that is what keeps rotating refresh tokens from being spent twice across the farm.
/// </remarks>
public enum PitchlyRedisOutagePolicy
{
    /// <summary>
    /// The default. Every store or lock operation that cannot reach Redis throws a retryable
    /// <see cref="PitchlyTokenStoreUnavailableException"/>, and the in-process cache is dropped as soon as the
    /// connection fails (it can no longer hear other instances' changes). Nothing is refreshed, nothing is spent.
    /// </summary>
    FailFast = 0,

    /// <summary>
    /// Reads fall back to the tokens this instance last cached while their access token has not expired, so calls keep
    /// working through a short outage; writes, removals and the lock still throw
    /// <see cref="PitchlyTokenStoreUnavailableException"/>, so an expired token is never refreshed without the lock.
    /// The cached access token may already have been replaced by another instance; Pitchly accepts it until it expires
    /// unless it was revoked.
    /// </summary>
    UseCachedTokensOnly = 1,
}

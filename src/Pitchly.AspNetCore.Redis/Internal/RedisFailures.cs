using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>Recognises failures that mean "Redis cannot be reached or cannot answer now" (retryable).</summary>
internal static class RedisFailures
{
    public static bool IsRedisFailure(Exception exception) =>
        exception is RedisException or RedisTimeoutException;

    public static PitchlyTokenStoreUnavailableException Unavailable(string operation, Exception exception) =>
        new($"Pitchly's Redis token store could not be reached during {operation} ({exception.GetType().Name}). "
            + "No token was refreshed, so no refresh token was spent; retry later.", exception);

    public static PitchlyTokenStoreUnavailableException NotReplicated(string operation, bool lost) =>
        new(lost
            ? $"Pitchly's Redis token store lost a {operation} in a failover of its primary; it counts as not done. Retry later."
            : $"No replica of Pitchly's Redis token store acknowledged a {operation} in time, so a failover could lose it; it counts as "
                + "not done (Pitchly:Redis:UnacknowledgedWritePolicy is FailRetryably). Retry later.");
}

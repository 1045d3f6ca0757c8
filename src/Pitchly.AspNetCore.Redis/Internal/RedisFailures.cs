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
}

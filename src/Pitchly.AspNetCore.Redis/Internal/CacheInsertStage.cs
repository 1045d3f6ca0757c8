namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>Where a read that caches its result can be paused by <see cref="RedisPitchlyTokenStore.CacheInsertHook"/>.</summary>
internal enum CacheInsertStage
{
    /// <summary>The epoch was checked; the entry is not in the cache yet.</summary>
    BeforeInsert,

    /// <summary>The entry is in the cache, not yet confirmed.</summary>
    AfterInsert,
}

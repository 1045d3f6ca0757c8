namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// Wraps the token store of an instance armed with <see cref="Farm.StormFreeze.AfterFenceKey"/>: once the token manager's
/// fence (the refresh intent) is written, the instance stops itself, before the token manager's last check and its
/// token request. Only such an instance has it: the wrapper hides the Redis store's change announcements, so this
/// instance waits at other owners' fences by polling.
/// </summary>
internal sealed class FreezingTokenStore(IPitchlyTokenStore inner, FreezePoint freezePoint) : IPitchlyTokenStore
{
    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default) =>
        inner.GetAsync(key, cancellationToken);

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default) =>
        inner.SetAsync(key, record, cancellationToken);

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default) =>
        inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);

    public async ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        var fenced = await inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);
        if (fenced is not null)
        {
            freezePoint.Reach(Farm.StormFreeze.AfterFence);
        }

        return fenced;
    }

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
        inner.RemoveAsync(key, expectedVersion, cancellationToken);
}

namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>An in-memory store that, while <see cref="Down"/>, fails every call as an unreachable Redis would.</summary>
public sealed class OutageTokenStore : IPitchlyTokenStore
{
    private readonly Pitchly.AspNetCore.Internal.InMemoryPitchlyTokenStore _inner = new();

    public bool Down { get; set; }

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return _inner.GetAsync(key, cancellationToken);
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return _inner.SetAsync(key, record, cancellationToken);
    }

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return _inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);
    }

    public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return _inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);
    }

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return _inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }

    private void ThrowIfDown()
    {
        if (Down)
        {
            throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
        }
    }
}

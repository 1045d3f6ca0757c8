using System.Threading.Tasks.Sources;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// An in-memory store whose reads complete at once through one reused <see cref="IValueTaskSource{TResult}"/>, as
/// pooling stores do: each read may be consumed once, and consuming it again throws, as it would in such a store.
/// </summary>
internal sealed class PooledReadStore : IPitchlyTokenStore, IValueTaskSource<PitchlyTokenRecord?>
{
    private readonly InMemoryPitchlyTokenStore _inner = new();
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<PitchlyTokenRecord?> _read;

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        var record = _inner.GetAsync(key, cancellationToken).AsTask().GetAwaiter().GetResult();
        lock (_gate)
        {
            _read.Reset();
            _read.SetResult(record);
            return new ValueTask<PitchlyTokenRecord?>(this, _read.Version);
        }
    }

    public PitchlyTokenRecord? GetResult(short token)
    {
        lock (_gate)
        {
            var record = _read.GetResult(token);

            // Recycled at once, as a pool does: a second GetResult with the same token now fails.
            _read.Reset();
            return record;
        }
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        lock (_gate)
        {
            return _read.GetStatus(token);
        }
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        lock (_gate)
        {
            _read.OnCompleted(continuation, state, token, flags);
        }
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
        => _inner.SetAsync(key, record, cancellationToken);

    public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
        => _inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);

    public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
        => _inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => _inner.RemoveAsync(key, expectedVersion, cancellationToken);
}

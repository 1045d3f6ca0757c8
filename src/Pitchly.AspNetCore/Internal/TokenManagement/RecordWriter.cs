using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Stores newly issued tokens by compare-and-swap on the version the refresh started from, retried while the store
/// cannot be reached: once Pitchly has issued them they exist only here.
/// </summary>
internal sealed partial class RecordWriter
{
    private readonly IPitchlyTokenStore _store;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly RefreshPipelines _pipelines;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger _logger;

    public RecordWriter(
        IPitchlyTokenStore store,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        RefreshPipelines pipelines,
        PitchlyMetrics metrics,
        ILogger logger)
    {
        _store = store;
        _options = options;
        _pipelines = pipelines;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// Writes <paramref name="issued"/> if the record is still at <paramref name="expectedVersion"/>. A refused swap means
    /// newer tokens are stored (this refresh's result then is those), or none are left (the user must sign in).
    /// </summary>
    public async ValueTask<RefreshResult> WriteAsync(
        PitchlyTokenKey key,
        long expectedVersion,
        PitchlyTokenRecord issued,
        IPitchlyRefreshLockHandle handle,
        RefreshOutcome outcome)
    {
        if (handle.LockLost.IsCancellationRequested)
        {
            // The lock lapsed while Pitchly answered. The old refresh token is spent either way, and the new one exists
            // only in this process: dropping it would sign the user out. The fence kept everyone else from presenting
            // the old one, and the compare-and-swap below succeeds only if nobody stored anything since.
            Log.LockLostBeforeWrite(_logger, key);
        }

        // Not cancellable, and retried while the store is unreachable: losing the tokens would leave the store with a
        // refresh token Pitchly has already spent.
        var stored = await _pipelines.StoreWrite(_options.CurrentValue).ExecuteAsync(
            static (state, _) => state.Store.TryReplaceAsync(state.Key, state.ExpectedVersion, state.Record, CancellationToken.None),
            (Store: _store, Key: key, ExpectedVersion: expectedVersion, Record: issued),
            CancellationToken.None);
        if (stored is not null)
        {
            Log.Stored(_logger, key, stored.Version, stored.ExpiresAt);
            return RefreshResult.Wrote(stored, outcome);
        }

        var current = await _store.GetAsync(key, CancellationToken.None);
        if (current is not null
            && string.Equals(current.AccessToken, issued.AccessToken, StringComparison.Ordinal)
            && string.Equals(current.RefreshToken, issued.RefreshToken, StringComparison.Ordinal))
        {
            // A retried write whose first attempt landed but whose answer was lost: these are our tokens.
            Log.Stored(_logger, key, current.Version, current.ExpiresAt);
            return RefreshResult.Wrote(current, outcome);
        }

        _metrics.CompareAndSwapConflicts.Add(1);
        Log.CompareAndSwapConflict(_logger, key, expectedVersion, current?.Version);
        return current is null
            ? throw TokenRecords.SignInRequired(key, "its Pitchly tokens were removed while they were being refreshed")
            : RefreshResult.UseStored(current, RefreshOutcome.ReusedNewer);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, EventName = "TokensStored", Level = LogLevel.Information, Message = "Stored new Pitchly tokens for {Key}: version {Version}, expiring {ExpiresAt:O}.")]
        public static partial void Stored(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset expiresAt);

        [LoggerMessage(EventId = 2005, EventName = "CompareAndSwapConflict", Level = LogLevel.Information, Message = "The Pitchly tokens of {Key} moved on from version {ExpectedVersion} to {CurrentVersion} during the refresh; using the stored ones.")]
        public static partial void CompareAndSwapConflict(ILogger logger, PitchlyTokenKey key, long expectedVersion, long? currentVersion);

        [LoggerMessage(EventId = 2006, EventName = "LockLostBeforeWrite", Level = LogLevel.Warning, Message = "The refresh lock of {Key} was lost before the new tokens were stored; storing them by compare-and-swap.")]
        public static partial void LockLostBeforeWrite(ILogger logger, PitchlyTokenKey key);
    }
}

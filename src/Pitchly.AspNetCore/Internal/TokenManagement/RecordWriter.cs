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
    private readonly RefreshFence _fence;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger _logger;

    public RecordWriter(
        IPitchlyTokenStore store,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        RefreshPipelines pipelines,
        RefreshFence fence,
        PitchlyMetrics metrics,
        ILogger logger)
    {
        _store = store;
        _fence = fence;
        _options = options;
        _pipelines = pipelines;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// Stores the tokens Pitchly issued for <paramref name="fence"/>'s refresh token. Before every attempt the owner
    /// extends its fence (owner-checked), so no other instance claims the record while these tokens exist only here and
    /// the store can be reached at all. When the swap is refused, the record is read again: if it still carries exactly
    /// the fenced tokens (another instance only claimed a lapsed fence and marked the refresh token as possibly spent,
    /// or this owner's own extension landed without its answer), the new tokens are written over its current version;
    /// otherwise newer tokens are stored and are used.
    /// </summary>
    public async ValueTask<RefreshResult> WriteRefreshedAsync(HeldFence fence, PitchlyTokenRecord issued, IPitchlyRefreshLockHandle handle)
    {
        var key = fence.Key;
        if (handle.LockLost.IsCancellationRequested)
        {
            Log.LockLostBeforeWrite(_logger, key);
        }

        var attempt = new FencedWrite(this, fence, issued);
        var stored = await _pipelines.StoreWrite(_options.CurrentValue).ExecuteAsync(
            static (attempt, _) => attempt.RunAsync(),
            attempt,
            CancellationToken.None);
        if (stored is not null)
        {
            Log.Stored(_logger, key, stored.Version, stored.ExpiresAt);
            return RefreshResult.Wrote(stored, RefreshOutcome.Refreshed);
        }

        var current = attempt.Current;
        _metrics.CompareAndSwapConflicts.Add(1);
        Log.CompareAndSwapConflict(_logger, key, fence.Record.Version, current?.Version);
        return current is null
            ? throw TokenRecords.SignInRequired(key, "its Pitchly tokens were removed while they were being refreshed")
            : RefreshResult.UseStored(current, RefreshOutcome.ReusedNewer);
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

    private static bool HasTokensOf(PitchlyTokenRecord record, PitchlyTokenRecord tokens)
        => string.Equals(record.AccessToken, tokens.AccessToken, StringComparison.Ordinal)
           && string.Equals(record.RefreshToken, tokens.RefreshToken, StringComparison.Ordinal);

    /// <summary>
    /// One write of refreshed tokens, attempted again by the store-write pipeline while the store cannot be reached; it
    /// remembers across attempts the version it last saw carry the fenced tokens.
    /// </summary>
    private sealed class FencedWrite(RecordWriter writer, HeldFence fence, PitchlyTokenRecord issued)
    {
        // Each refused swap over the fenced tokens means another write landed in between (a claim, its mark, an
        // extension whose answer was lost); a few rounds settle it, more mean something keeps rewriting the record.
        private const int MaxRounds = 5;

        private long _expectedVersion = fence.Record.Version;
        private PitchlyTokenRecord? _writeOver;
        private bool _announcedLoss;

        /// <summary>Gets the record read after the last refused swap: newer tokens, or none.</summary>
        public PitchlyTokenRecord? Current { get; private set; }

        /// <summary>The stored record; <see langword="null"/> when the record no longer carries the fenced tokens.</summary>
        public async ValueTask<PitchlyTokenRecord?> RunAsync()
        {
            var store = writer._store;
            for (var round = 0; round < MaxRounds; round++)
            {
                if (await writer._fence.TryExtendAsync(fence, _expectedVersion) is { } extended)
                {
                    _expectedVersion = extended.Record.Version;
                }
                else if (!_announcedLoss)
                {
                    _announcedLoss = true;
                    Log.FenceNotHeld(writer._logger, fence.Key, _expectedVersion);
                }

                if (await store.TryReplaceAsync(fence.Key, _expectedVersion, _writeOver ?? issued, CancellationToken.None) is { } stored)
                {
                    return stored;
                }

                var current = await store.GetAsync(fence.Key, CancellationToken.None);
                Current = current;
                if (current is null)
                {
                    return null;
                }

                if (HasTokensOf(current, issued))
                {
                    // A retried write whose first attempt landed but whose answer was lost: these are our tokens.
                    return current;
                }

                if (!HasTokensOf(current, fence.Record))
                {
                    return null;
                }

                // Still the tokens this refresh spent, at another version: nobody stored newer ones, so these are theirs
                // to replace. The sessions are the current ones: a session ended after the fence lapsed stays ended.
                Log.WritingOverFencedTokens(writer._logger, fence.Key, _expectedVersion, current.Version);
                _expectedVersion = current.Version;
                _writeOver = issued with { Sessions = current.Sessions };
            }

            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, EventName = "TokensStored", Level = LogLevel.Information, Message = "Stored new Pitchly tokens for {Key}: version {Version}, expiring {ExpiresAt:O}.")]
        public static partial void Stored(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset expiresAt);

        [LoggerMessage(EventId = 2005, EventName = "CompareAndSwapConflict", Level = LogLevel.Information, Message = "The Pitchly tokens of {Key} moved on from version {ExpectedVersion} to {CurrentVersion} during the refresh; using the stored ones.")]
        public static partial void CompareAndSwapConflict(ILogger logger, PitchlyTokenKey key, long expectedVersion, long? currentVersion);

        [LoggerMessage(EventId = 2028, EventName = "FenceNotHeldWhileStoring", Level = LogLevel.Warning, Message = "The fence of the Pitchly tokens of {Key} could not be extended at version {Version} while storing newly issued tokens (the record moved on, or another refresh claimed it after the fence lapsed); storing them by compare-and-swap while the record still holds the refresh token they replace.")]
        public static partial void FenceNotHeld(ILogger logger, PitchlyTokenKey key, long version);

        [LoggerMessage(EventId = 2029, EventName = "WritingOverFencedTokens", Level = LogLevel.Warning, Message = "The Pitchly tokens of {Key} moved on from version {ExpectedVersion} to {CurrentVersion} but still hold the refresh token this refresh spent; storing the new tokens over that version.")]
        public static partial void WritingOverFencedTokens(ILogger logger, PitchlyTokenKey key, long expectedVersion, long currentVersion);

        [LoggerMessage(EventId = 2006, EventName = "LockLostBeforeWrite", Level = LogLevel.Warning, Message = "The refresh lock of {Key} was lost before the new tokens were stored; storing them by compare-and-swap.")]
        public static partial void LockLostBeforeWrite(ILogger logger, PitchlyTokenKey key);
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// The fence protocol: an intent "refresh token R is being spent by owner O until deadline D", written into the record
/// by compare-and-swap before R is presented. Owners begin, release and (when the store was unreachable) clear their
/// fences later; everyone else waits at a live fence instead of presenting R.
/// </summary>
internal sealed partial class RefreshFence
{
    // How often a refresh waiting at another owner's fence reads the record when no change is announced.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(20);

    private readonly IPitchlyTokenStore _store;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly RefreshPipelines _pipelines;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger _logger;

    public RefreshFence(
        IPitchlyTokenStore store,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        TimeProvider timeProvider,
        RefreshPipelines pipelines,
        PitchlyMetrics metrics,
        ILogger logger)
    {
        _store = store;
        _options = options;
        _timeProvider = timeProvider;
        _pipelines = pipelines;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// Writes this owner's fence on <paramref name="record"/> at its version; <see langword="null"/> when the record moved
    /// on or another owner fenced it first (nothing may be sent then).
    /// </summary>
    public async ValueTask<HeldFence?> TryBeginAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        var owner = Guid.NewGuid().ToString("N");
        var fencedAt = _timeProvider.GetTimestamp();
        var fencedAtWallClock = _timeProvider.GetUtcNow();
        PitchlyTokenRecord? fenced;
        try
        {
            fenced = await _store.TryBeginRefreshAsync(key, record.Version, owner, options.FenceTimeout, cancellationToken);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            // The fence may have been written with its answer lost: nothing was sent, so clear it once the store is
            // back rather than let it hold every other caller of this key until its deadline.
            _ = ClearLaterAsync(key, owner, mayBeSpent: false);
            throw;
        }

        if (fenced is null)
        {
            Log.Refused(_logger, key, record.Version);
            return null;
        }

        return new HeldFence(key, fenced, fencedAt, fencedAtWallClock, options.FenceTimeout, options.FenceTimeout - options.TokenRequestTimeout);
    }

    /// <summary>
    /// Writes this owner's fence again, by compare-and-swap on <paramref name="expectedVersion"/> and with the same owner,
    /// for a whole <see cref="PitchlyTokenManagementOptions.FenceTimeout"/> from now: the store grants it only while no
    /// other owner's live fence is on the record, so it extends the fence the owner still holds (or takes the record
    /// back once nobody else holds it) and never crosses another owner's. Returns the fence as written, or
    /// <see langword="null"/> when the record moved on or another owner fenced it. Not cancellable: it protects tokens
    /// that exist only in this process.
    /// </summary>
    public async ValueTask<HeldFence?> TryExtendAsync(HeldFence fence, long expectedVersion)
    {
        var fencedAt = _timeProvider.GetTimestamp();
        var fencedAtWallClock = _timeProvider.GetUtcNow();
        var extended = await _store.TryBeginRefreshAsync(fence.Key, expectedVersion, fence.Owner, fence.Timeout, CancellationToken.None);
        if (extended is null)
        {
            return null;
        }

        Log.Extended(_logger, fence.Key, extended.Version);
        return fence with { Record = extended, FencedAt = fencedAt, FencedAtWallClock = fencedAtWallClock };
    }

    /// <summary>
    /// Claims <paramref name="lapsed"/>, a record whose fence of another owner has lapsed, and marks its refresh token
    /// <see cref="PitchlyTokenRecord.RefreshTokenMayBeSpent"/>: that owner may have presented it and still hold the
    /// answer, unable to store it yet. The claim is a fence of its own (the store judges the lapse on its clock), then
    /// cleared with the mark. Returns the marked record, or <see langword="null"/> when the record moved on or the store
    /// still holds the fence live (the caller reads the record again).
    /// </summary>
    public async ValueTask<PitchlyTokenRecord?> TryClaimLapsedAsync(PitchlyTokenKey key, PitchlyTokenRecord lapsed, CancellationToken cancellationToken)
    {
        if (await TryBeginAsync(key, lapsed, cancellationToken) is not { } claim)
        {
            return null;
        }

        var fenced = claim.Record;
        PitchlyTokenRecord? marked;
        try
        {
            marked = await _store.TryReplaceAsync(key, fenced.Version, fenced with { RefreshIntent = null, RefreshTokenMayBeSpent = true }, CancellationToken.None);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            _ = ClearLaterAsync(key, claim.Owner, mayBeSpent: true);
            throw;
        }

        if (marked is not null)
        {
            Log.LapsedFenceClaimed(_logger, key, lapsed.Version, lapsed.RefreshIntent?.Deadline);
        }

        return marked;
    }

    /// <summary>
    /// Releases <paramref name="fence"/> before sending when its send deadline has passed or the refresh was cancelled;
    /// <see langword="true"/> when the token request may still be sent.
    /// </summary>
    public async ValueTask<bool> CheckSendDeadlineAsync(HeldFence fence, CancellationToken cancellationToken)
    {
        if (!fence.IsPastSendDeadline(_timeProvider) && !cancellationToken.IsCancellationRequested)
        {
            return true;
        }

        Log.SendDeadlinePassed(_logger, fence.Key, fence.SendWindow);
        await ReleaseAsync(fence, mayBeSpent: false);
        cancellationToken.ThrowIfCancellationRequested();
        return false;
    }

    /// <summary>
    /// Waits at another owner's fence for the record to change (announced by the store where it can, else polled) or
    /// the fence to lapse, whichever comes first; returns the record read then.
    /// </summary>
    public async ValueTask<PitchlyTokenRecord?> WaitAtAnotherOwnersFenceAsync(PitchlyTokenKey key, PitchlyTokenRecord fencedRecord, CancellationToken cancellationToken)
    {
        var deadline = fencedRecord.RefreshIntent!.Deadline;
        Log.WaitingAtFence(_logger, key, fencedRecord.Version, deadline);
        _metrics.FenceWaits.Add(1);
        while (true)
        {
            var untilDeadline = deadline - _timeProvider.GetUtcNow();
            var wait = untilDeadline < PollInterval ? (untilDeadline > MinPoll ? untilDeadline : MinPoll) : PollInterval;
            if (_store is ITokenChangeSignal signal)
            {
                await signal.WaitForChangeAsync(key, wait, cancellationToken);
            }
            else
            {
                await Task.Delay(wait, _timeProvider, cancellationToken);
            }

            var current = await _store.GetAsync(key, cancellationToken);
            if (current is null || current.Version != fencedRecord.Version || _timeProvider.GetUtcNow() >= deadline)
            {
                return current;
            }
        }
    }

    /// <summary>
    /// Clears this owner's fence when no new tokens came of its request, by compare-and-swap on the fenced version;
    /// <paramref name="mayBeSpent"/> marks a refresh token whose request may have reached Pitchly. Best effort: a fence
    /// that cannot be cleared now is cleared once the store is back, or lapses at its deadline.
    /// </summary>
    public async ValueTask ReleaseAsync(HeldFence fence, bool mayBeSpent)
    {
        var fenced = fence.Record;
        try
        {
            await _store.TryReplaceAsync(fence.Key, fenced.Version, fenced with { RefreshIntent = null, RefreshTokenMayBeSpent = fenced.RefreshTokenMayBeSpent || mayBeSpent }, CancellationToken.None);
        }
        catch (PitchlyTokenStoreUnavailableException exception)
        {
            Log.NotCleared(_logger, fence.Key, exception);
            _ = ClearLaterAsync(fence.Key, fence.Owner, mayBeSpent);
        }

        if (mayBeSpent)
        {
            Log.RefreshTokenMayBeSpent(_logger, fence.Key);
        }
    }

    /// <summary>
    /// Clears the fence of <paramref name="owner"/>, if the record still carries it, once the store can be reached again
    /// (retried for <see cref="PitchlyTokenManagementOptions.StoreWriteRetryTimeout"/>; after that it lapses at its deadline).
    /// Runs in the background: no caller waits for the store to come back.
    /// </summary>
    private async Task ClearLaterAsync(PitchlyTokenKey key, string owner, bool mayBeSpent)
    {
        try
        {
            await _pipelines.StoreWrite(_options.CurrentValue).ExecuteAsync(
                static async (state, _) =>
                {
                    var current = await state.Store.GetAsync(state.Key, CancellationToken.None);
                    if (current?.RefreshIntent?.Owner == state.Owner)
                    {
                        await state.Store.TryReplaceAsync(
                            state.Key,
                            current.Version,
                            current with { RefreshIntent = null, RefreshTokenMayBeSpent = current.RefreshTokenMayBeSpent || state.MayBeSpent },
                            CancellationToken.None);
                    }
                },
                (Store: _store, Key: key, Owner: owner, MayBeSpent: mayBeSpent),
                CancellationToken.None);
        }
        catch (Exception exception)
        {
            Log.NotCleared(_logger, key, exception);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2012, EventName = "WaitingAtFence", Level = LogLevel.Information, Message = "Another refresh of the Pitchly tokens of {Key} is in flight (version {Version}, fenced until {Deadline:O}); waiting for its tokens instead of presenting the same refresh token.")]
        public static partial void WaitingAtFence(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset deadline);

        [LoggerMessage(EventId = 2013, EventName = "FenceRefused", Level = LogLevel.Debug, Message = "The fence of the Pitchly tokens of {Key} could not be written at version {Version} (the record moved on or another refresh fenced it); nothing was sent.")]
        public static partial void Refused(ILogger logger, PitchlyTokenKey key, long version);

        [LoggerMessage(EventId = 2014, EventName = "SendDeadlinePassed", Level = LogLevel.Warning, Message = "The refresh of {Key} reached its send deadline ({SendWindow} after its fence) before sending; nothing was sent.")]
        public static partial void SendDeadlinePassed(ILogger logger, PitchlyTokenKey key, TimeSpan sendWindow);

        [LoggerMessage(EventId = 2015, EventName = "FenceNotCleared", Level = LogLevel.Warning, Message = "The fence of the Pitchly tokens of {Key} could not be cleared; it lapses at its deadline.")]
        public static partial void NotCleared(ILogger logger, PitchlyTokenKey key, Exception exception);

        [LoggerMessage(EventId = 2026, EventName = "LapsedFenceClaimed", Level = LogLevel.Warning, Message = "The fence of another refresh of the Pitchly tokens of {Key} lapsed (version {Version}, fenced until {Deadline:O}) before its tokens were stored; its refresh token may be spent, so the record is marked RefreshTokenMayBeSpent: the current access token is used until it expires or is rejected.")]
        public static partial void LapsedFenceClaimed(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset? deadline);

        [LoggerMessage(EventId = 2027, EventName = "FenceExtended", Level = LogLevel.Debug, Message = "Extended the fence of the Pitchly tokens of {Key} (version {Version}) while storing newly issued tokens.")]
        public static partial void Extended(ILogger logger, PitchlyTokenKey key, long version);

        [LoggerMessage(EventId = 2016, EventName = "RefreshTokenMayBeSpent", Level = LogLevel.Warning, Message = "The answer to the refresh of {Key} was lost, so its refresh token may be spent; the current access token is used until it expires or is rejected.")]
        public static partial void RefreshTokenMayBeSpent(ILogger logger, PitchlyTokenKey key);
    }
}

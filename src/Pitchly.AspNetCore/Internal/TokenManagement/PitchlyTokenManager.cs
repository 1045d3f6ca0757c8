using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// The token manager's front: the hot path (a stored token that still serves, with no lock, task or allocation), and
/// the callers' side of a shared refresh (join it, wait with their own cancellation, record the wait). The refresh
/// itself is <see cref="RefreshCoordinator"/>'s, started once per key by <see cref="RefreshFlight"/>.
/// </summary>
internal sealed partial class PitchlyTokenManager : IPitchlyTokenManager, IDisposable
{
    // A caller whose rejected token comes back from a refresh it joined (one started before its token failed) starts
    // another; the bound stops a token Pitchly keeps rejecting from looping here (the handler then reports it).
    private const int MaxJoinAttempts = 3;

    private readonly IPitchlyTokenStore _store;

    // The store itself when it hands out held entries (the Redis store, for its L1).
    private readonly IHeldRecordStore? _heldRecords;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly RefreshFlight _flight;
    private readonly RenewalBackoff _backoff;
    private readonly ILogger<PitchlyTokenManager> _logger;

    public PitchlyTokenManager(
        IPitchlyTokenStore store,
        IPitchlyRefreshLock refreshLock,
        PitchlyTokenClient client,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        TimeProvider timeProvider,
        PitchlyMetrics metrics,
        IEnumerable<IPitchlyTokenRefreshedHandler> refreshedHandlers,
        ILogger<PitchlyTokenManager> logger)
    {
        _store = store;
        _heldRecords = store as IHeldRecordStore;
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        var coordinator = new RefreshCoordinator(store, refreshLock, client, options, timeProvider, metrics, refreshedHandlers, logger);
        _backoff = new RenewalBackoff(options, timeProvider);
        _flight = new RefreshFlight(coordinator.RunAsync, _backoff);
    }

    /// <summary>Gets the per-key backoff of failed renewals.</summary>
    internal RenewalBackoff Backoff => _backoff;

    /// <summary>Whether a shared refresh of <paramref name="key"/> is running.</summary>
    internal bool IsRefreshing(PitchlyTokenKey key) => _flight.IsRunning(key);

    public ValueTask<PitchlyAccessToken> GetAccessTokenAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_heldRecords is { } heldRecords)
        {
            return GetHeldAccessTokenAsync(heldRecords, key, cancellationToken);
        }

        var read = _store.GetAsync(key, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return AwaitReadThenGetAccessTokenAsync(key, read, cancellationToken);
        }

        // A ValueTask may be consumed only once (a pooled one is reused afterwards): from here on only its result is used.
        var record = read.Result;

        // Hot path: a token outside its renewal window is returned without a lock, a task or a closure.
        if (record is not null && RenewalPolicy.Serves(record, _timeProvider.GetUtcNow(), _options.CurrentValue))
        {
            return new ValueTask<PitchlyAccessToken>(record.ToAccessToken());
        }

        return GetAccessTokenSlowAsync(key, record, cancellationToken);
    }

    public async Task<PitchlyAccessToken> RefreshAsync(PitchlyTokenKey key, string? failedAccessToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = RefreshRequest.Rejected(key, failedAccessToken);
        var waitStarted = _timeProvider.GetTimestamp();
        try
        {
            var token = default(PitchlyAccessToken);
            for (var attempt = 0; attempt < MaxJoinAttempts; attempt++)
            {
                var refresh = _flight.StartOrJoin(request);
                token = await refresh.WaitAsync(cancellationToken);
                if (request.RejectedAccessToken is not { } rejected || !string.Equals(token.Value, rejected, StringComparison.Ordinal))
                {
                    return token;
                }

                // The refresh this call joined had started before its token was rejected: start one of its own.
                _flight.Leave(key, refresh);
            }

            return token;
        }
        finally
        {
            RecordRefreshWait(request, waitStarted);
        }
    }

    /// <summary>
    /// <see cref="GetAccessTokenAsync"/> with a store that holds records in memory: a held entry is decided on and served
    /// without reading its record (its own method, so the other stores' path compiles as it did without it).
    /// </summary>
    private ValueTask<PitchlyAccessToken> GetHeldAccessTokenAsync(IHeldRecordStore heldRecords, PitchlyTokenKey key, CancellationToken cancellationToken)
    {
        // One clock reading for the store's expiry and the renewal decision.
        var now = _timeProvider.GetUtcNow();
        if (heldRecords.TryGetHeld(key, now) is { } held)
        {
            return held.Serves(now, _options.CurrentValue)
                ? new ValueTask<PitchlyAccessToken>(held.ToAccessToken())
                : GetAccessTokenSlowAsync(key, held.Record, cancellationToken);
        }

        var read = heldRecords.GetUnheldAsync(key, cancellationToken);
        return read.IsCompletedSuccessfully
            ? GetAccessTokenSlowAsync(key, read.Result, cancellationToken)
            : AwaitReadThenGetAccessTokenAsync(key, read, cancellationToken);
    }

    private async ValueTask<PitchlyAccessToken> AwaitReadThenGetAccessTokenAsync(PitchlyTokenKey key, ValueTask<PitchlyTokenRecord?> read, CancellationToken cancellationToken)
        => await GetAccessTokenSlowAsync(key, await read, cancellationToken);

    private async ValueTask<PitchlyAccessToken> GetAccessTokenSlowAsync(PitchlyTokenKey key, PitchlyTokenRecord? record, CancellationToken cancellationToken)
    {
        if (record is null)
        {
            return key.Kind == PitchlyTokenKind.User
                ? throw TokenRecords.SignInRequired(key, "no Pitchly tokens are stored for it")
                : await WaitForRefreshAsync(new RefreshRequest(key, RefreshReason.Missing, null), cancellationToken);
        }

        var now = _timeProvider.GetUtcNow();
        var options = _options.CurrentValue;
        if (RenewalPolicy.Serves(record, now, options) || RenewalPolicy.ServesWhileAnotherRenews(record, now))
        {
            return record.ToAccessToken();
        }

        if (RenewalPolicy.ServesWhileRenewalBacksOff(record, now, _backoff.IsBackingOff(key, now)))
        {
            // The key's last refresh failed less than FailedRenewalRetryInterval ago with an error that may pass
            // (temporarily_unavailable, a 5xx, a timeout): no other grant until then, and the still-valid token serves.
            return record.ToAccessToken();
        }

        var request = RefreshRequest.Renewal(key);
        var renewal = _flight.StartOrJoin(request);
        if (!renewal.IsCompleted && RenewalPolicy.ServesDuringRenewal(record, now, options))
        {
            // Early in the renewal window: the shared refresh runs on its own (it never depended on its callers), and
            // this call goes on with the current token instead of waiting for the token request.
            return record.ToAccessToken();
        }

        try
        {
            return await WaitForRefreshAsync(request, cancellationToken, renewal);
        }
        catch (Exception exception) when (exception is not (PitchlySignInRequiredException or OperationCanceledException)
                                          && RenewalPolicy.IsUnexpired(record, _timeProvider.GetUtcNow()))
        {
            // A proactive renewal failed (endpoint down, store unavailable) while the current token is still valid:
            // the caller is better served by that token than by an error; the next call tries again.
            Log.RenewalFailedUsingCurrentToken(_logger, key, record.ExpiresAt, exception);
            return record.ToAccessToken();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _backoff.Dispose();

    /// <summary>Waits, with the caller's cancellation, for the shared refresh of <paramref name="request"/>'s key.</summary>
    private async Task<PitchlyAccessToken> WaitForRefreshAsync(RefreshRequest request, CancellationToken cancellationToken, Task<PitchlyAccessToken>? joined = null)
    {
        var waitStarted = _timeProvider.GetTimestamp();
        try
        {
            return await (joined ?? _flight.StartOrJoin(request)).WaitAsync(cancellationToken);
        }
        finally
        {
            RecordRefreshWait(request, waitStarted);
        }
    }

    /// <summary>
    /// Records how long a call waited for a shared refresh. It runs in the waiting call's own context (the refresh
    /// runs in none), so a listener can attribute the wait to that call.
    /// </summary>
    private void RecordRefreshWait(RefreshRequest request, long startedAt)
    {
        if (_metrics.RefreshWaitTime.Instrument.Enabled)
        {
            _metrics.RefreshWaitTime.Record(
                _timeProvider.GetElapsedTime(startedAt).TotalMilliseconds,
                new TagList { { PitchlyMetrics.RefreshReasonTag, request.Reason.ToTagValue() }, { PitchlyMetrics.TokenKindTag, request.Key.Kind.ToString() } });
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2009, EventName = "RenewalFailedUsingCurrentToken", Level = LogLevel.Warning, Message = "Renewing the Pitchly tokens of {Key} failed; using the current token, valid until {ExpiresAt:O}.")]
        public static partial void RenewalFailedUsingCurrentToken(ILogger logger, PitchlyTokenKey key, DateTimeOffset expiresAt, Exception exception);
    }
}

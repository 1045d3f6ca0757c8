using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Runs one shared refresh as the sequence in docs/architecture.md: lock or defer → re-read and decide → fence →
/// send-deadline check → grant → compare-and-swap write → hand the token to waiting callers → release → notify.
/// </summary>
internal sealed partial class RefreshCoordinator
{
    // A pass that stops before sending anything (its lock was lost, or its fence refused) starts again from the lock,
    // a bounded number of times.
    private const int MaxPasses = 3;

    private readonly IPitchlyTokenStore _store;
    private readonly IPitchlyRefreshLock _refreshLock;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly RefreshPipelines _pipelines;
    private readonly RefreshFence _fence;
    private readonly TokenGrant _grant;
    private readonly RecordWriter _writer;
    private readonly RefreshNotifier _notifier;
    private readonly ILogger _logger;

    public RefreshCoordinator(
        IPitchlyTokenStore store,
        IPitchlyRefreshLock refreshLock,
        PitchlyTokenClient client,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        TimeProvider timeProvider,
        PitchlyMetrics metrics,
        IEnumerable<IPitchlyTokenRefreshedHandler> refreshedHandlers,
        ILogger logger)
    {
        _store = store;
        _refreshLock = refreshLock;
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _pipelines = new RefreshPipelines(timeProvider, logger);
        _fence = new RefreshFence(store, options, timeProvider, _pipelines, metrics, logger);
        _grant = new TokenGrant(client, options, timeProvider);
        _writer = new RecordWriter(store, options, _pipelines, _fence, metrics, logger);
        _notifier = new RefreshNotifier(refreshedHandlers, logger);
    }

    private enum Step
    {
        UseStored,
        AcquireInstallTokens,
        SpendRefreshToken,
    }

    /// <summary>
    /// Runs one shared refresh on its own timeout, never on a caller's token: a caller that stops waiting must not
    /// abandon a refresh Pitchly may already have performed, whose new refresh token only this code can store. Settles
    /// <paramref name="refresh"/> whatever happens, or every later caller of its key would wait on it forever.
    /// </summary>
    public async Task RunAsync(SharedRefresh refresh, ActivityContext? caller)
    {
        var key = refresh.Request.Key;
        var started = _timeProvider.GetTimestamp();
        var outcome = RefreshOutcome.Failed;
        using var activity = PitchlyMetrics.ActivitySource.StartActivity(
            PitchlyMetrics.RefreshSpan, ActivityKind.Internal, parentContext: default, links: caller is { } link ? [new ActivityLink(link)] : null);
        activity?.SetTag(PitchlyMetrics.TokenKindTag, key.Kind.ToString());
        Log.RefreshStarted(_logger, key, refresh.Request.Reason);

        // Everything that can throw (reading the options validates them) stays inside the try.
        CancellationTokenSource? timeout = null;
        var refreshTimeout = TimeSpan.Zero;
        try
        {
            var options = _options.CurrentValue;
            refreshTimeout = options.RefreshTimeout;
            timeout = new CancellationTokenSource(refreshTimeout, _timeProvider);
            var result = await _pipelines.Refresh(options).ExecuteAsync(
                static (state, cancellationToken) => state.Self.RefreshWithRestartsAsync(state.Refresh, cancellationToken),
                (Self: this, Refresh: refresh),
                timeout.Token);
            outcome = result.Outcome;
            refresh.Succeed(result.Token); // usually settled already, before the lock's release

            // The lock is released by now: a slow handler must not keep other instances waiting for it.
            if (result.Stored is { } stored)
            {
                await _notifier.NotifyAsync(key, stored, timeout.Token);
            }
        }
        catch (OperationCanceledException exception) when (timeout?.IsCancellationRequested == true && !refresh.IsSettled)
        {
            var timedOut = new PitchlyRefreshTimeoutException(
                key,
                refreshTimeout,
                $"The refresh of the Pitchly tokens of {key} did not complete within {refreshTimeout} (Pitchly:TokenManagement:RefreshTimeout). Retry later.",
                exception);
            Log.RefreshFailed(_logger, key, timedOut);
            refresh.Fail(timedOut);
        }
        catch (Exception exception) when (!refresh.IsSettled)
        {
            if (exception is PitchlySignInRequiredException)
            {
                outcome = RefreshOutcome.InvalidGrant;
            }
            else if (exception is PitchlyOrganizationNotRegisteredException)
            {
                // A refusal by configuration, not a fault: nothing was sent and there is no stack worth logging.
                Log.OrganizationNotRegistered(_logger, key);
            }
            else
            {
                Log.RefreshFailed(_logger, key, exception);
            }

            refresh.Fail(exception);
        }
        finally
        {
            timeout?.Dispose();
            var tags = new TagList { { PitchlyMetrics.OutcomeTag, outcome.ToTagValue() }, { PitchlyMetrics.TokenKindTag, key.Kind.ToString() } };
            _metrics.Refreshes.Add(1, tags);
            _metrics.RefreshDuration.Record(_timeProvider.GetElapsedTime(started).TotalMilliseconds, tags);
            activity?.SetTag("outcome", outcome.ToTagValue());
        }
    }

    private async ValueTask<RefreshResult> RefreshWithRestartsAsync(SharedRefresh refresh, CancellationToken cancellationToken)
    {
        for (var pass = 1; pass <= MaxPasses; pass++)
        {
            if (await RefreshOnceAsync(refresh, cancellationToken) is { } result)
            {
                return result;
            }
        }

        throw new PitchlyTokenStoreUnavailableException(
            $"The refresh of {refresh.Request.Key} could not start {MaxPasses} times (its lock was lost, or its fence could not be written, before the token request); no token request was sent. Retry later.");
    }

    /// <summary>
    /// One pass of the algorithm; <see langword="null"/> when it stopped before sending anything. The waiting callers get
    /// the stored tokens before the lock is released: the release is one more round trip they need not wait for.
    /// </summary>
    private async ValueTask<RefreshResult?> RefreshOnceAsync(SharedRefresh refresh, CancellationToken cancellationToken)
    {
        var request = refresh.Request;
        var (handle, deferred) = await LockOrDeferAsync(request, cancellationToken);
        if (handle is null)
        {
            return deferred;
        }

        RefreshResult? result = null;
        try
        {
            var next = await ReReadAndDecideAsync(request, cancellationToken);
            result = next.Step switch
            {
                Step.UseStored => RefreshResult.UseStored(next.Record!, next.Outcome),
                Step.AcquireInstallTokens => await AcquireInstallTokensAsync(request.Key, next.Record?.Version ?? 0, handle, cancellationToken),
                _ => await SpendRefreshTokenAsync(request.Key, next.Record!, handle, cancellationToken),
            };
            if (result is { } settled)
            {
                refresh.Succeed(settled.Token);
            }

            return result;
        }
        finally
        {
            await ReleaseLockAsync(request.Key, handle, tokensSettled: result is not null);
        }
    }

    /// <summary>
    /// Takes the key's refresh lock. A renewal steps aside instead when another instance holds it and the current token
    /// is still valid: that instance is renewing it, and the callers take the current token now rather than queue. With a
    /// lock that supports it (<see cref="IRefreshLockWaitCheck"/>), a refresh that waits stops waiting once the record
    /// holds what it was for, rather than take the lock in turn only to read that record under it.
    /// </summary>
    private async ValueTask<(IPitchlyRefreshLockHandle? Handle, RefreshResult? Deferred)> LockOrDeferAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        if (request.CurrentTokenMayServe && _refreshLock is IRefreshLockProbe probe)
        {
            if (await probe.TryAcquireAsync(request.Key, cancellationToken) is { } acquired)
            {
                return (acquired, null);
            }

            var current = await _store.GetAsync(request.Key, cancellationToken);
            if (current is not null && RenewalPolicy.IsUnexpired(current, _timeProvider.GetUtcNow()))
            {
                Log.RenewalDeferred(_logger, request.Key, current.ExpiresAt);
                return (null, RefreshResult.UseStored(current, RefreshOutcome.Deferred));
            }
        }

        try
        {
            if (_refreshLock is IRefreshLockWaitCheck waitCheck)
            {
                // A waiter reads the record, without the lock, whenever it would go on waiting: once the holder has
                // stored what this refresh was for, it takes that instead of the lock (it only reads, never spends).
                var check = new StillNeeded(this, request);
                return await waitCheck.AcquireUnlessUnneededAsync(request.Key, check.ReadAsync, cancellationToken) is { } handle
                    ? (handle, null)
                    : (null, check.Unneeded());
            }

            return (await _refreshLock.AcquireAsync(request.Key, cancellationToken), null);
        }
        catch (TimeoutException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A lock of the app's own that gives up waiting the way the contract used to say: the same retryable failure
            // as the package's locks report.
            throw new PitchlyRefreshLockTimeoutException(
                request.Key,
                timeout: null,
                $"The refresh lock of the Pitchly tokens of {request.Key} was not granted in time; nothing was refreshed. Retry later.",
                exception);
        }
    }

    /// <summary>
    /// Re-reads the record under the lock (another caller or instance may have refreshed meanwhile) and decides what to
    /// do. While another owner's live fence is on it, that owner is spending the refresh token: it is never presented
    /// here; a renewal takes the current token, anyone else waits for the owner's tokens or the fence's lapse.
    /// </summary>
    private async ValueTask<Decision> ReReadAndDecideAsync(RefreshRequest request, CancellationToken cancellationToken)
    {
        var key = request.Key;
        var record = await _store.GetAsync(key, cancellationToken);
        while (true)
        {
            var now = _timeProvider.GetUtcNow();
            if (record is null)
            {
                return key.Kind == PitchlyTokenKind.User
                    ? throw TokenRecords.SignInRequired(key, "no Pitchly tokens are stored for it")
                    : new Decision(Step.AcquireInstallTokens, null);
            }

            if (RenewalPolicy.IsAlreadyRenewed(record, request, now, _options.CurrentValue))
            {
                Log.ReusedNewerToken(_logger, key, record.Version);
                return new Decision(Step.UseStored, record, RefreshOutcome.ReusedNewer);
            }

            if (record.RefreshToken is null)
            {
                return key.Kind == PitchlyTokenKind.Install
                    ? new Decision(Step.AcquireInstallTokens, record)
                    : throw TokenRecords.SignInRequired(key, "its Pitchly tokens include no refresh token");
            }

            if (record.RefreshIntent is { } lapsed && !RenewalPolicy.IsFencedByAnother(record, now))
            {
                // Its owner may have presented the refresh token and still hold the answer, unable to store it: the
                // record is marked so the refresh token is presented only once the access token no longer serves.
                if (await _fence.TryClaimLapsedAsync(key, record, cancellationToken) is not { } marked)
                {
                    record = await _store.GetAsync(key, cancellationToken);
                    if (record is not null && record.RefreshIntent == lapsed)
                    {
                        // The store's clock says the fence still lives: wait for it there.
                        record = await _fence.WaitAtAnotherOwnersFenceAsync(key, record, cancellationToken);
                    }

                    continue;
                }

                if (request.CurrentTokenMayServe && RenewalPolicy.IsUnexpired(marked, _timeProvider.GetUtcNow()))
                {
                    return new Decision(Step.UseStored, marked, RefreshOutcome.FenceLapsed);
                }

                record = marked;
                continue;
            }

            if (!RenewalPolicy.IsFencedByAnother(record, now))
            {
                return new Decision(Step.SpendRefreshToken, record);
            }

            if (request.CurrentTokenMayServe && RenewalPolicy.ServesWhileAnotherRenews(record, now))
            {
                return new Decision(Step.UseStored, record, RefreshOutcome.Fenced);
            }

            record = await _fence.WaitAtAnotherOwnersFenceAsync(key, record, cancellationToken);
        }
    }

    /// <summary>
    /// Fence → send-deadline check → grant → compare-and-swap write; <see langword="null"/> when it stopped before
    /// sending anything (the lock was lost, the fence refused or its send deadline passed).
    /// </summary>
    private async ValueTask<RefreshResult?> SpendRefreshTokenAsync(PitchlyTokenKey key, PitchlyTokenRecord record, IPitchlyRefreshLockHandle handle, CancellationToken cancellationToken)
    {
        if (handle.LockLost.IsCancellationRequested)
        {
            // The lease lapsed before the fence: another holder may be about to fence this record. Nothing was sent,
            // so start over from the lock and the re-read instead.
            Log.LockLostBeforeRequest(_logger, key);
            return null;
        }

        if (await _fence.TryBeginAsync(key, record, cancellationToken) is not { } fence)
        {
            return null;
        }

        // From here until the fence is cleared or replaced, only this owner may present the refresh token. The lock is
        // stretched over the fence so other instances queue on the lock rather than at the fence (best effort).
        await handle.ExtendAsync(fence.Timeout, CancellationToken.None);
        if (!await _fence.CheckSendDeadlineAsync(fence, cancellationToken))
        {
            return null;
        }

        PitchlyTokenRecord issued;
        try
        {
            issued = await _grant.RefreshAsync(fence);
        }
        catch (PitchlyTokenEndpointException exception) when (TokenGrant.IsInvalidGrant(exception))
        {
            return await AfterInvalidGrantAsync(key, fence.Record, handle, exception, cancellationToken);
        }
        catch (Exception exception)
        {
            // Pitchly certainly did not take the refresh token (no connection, or an OAuth error): the fence goes and
            // the token is used again. Otherwise its fate is unknown: the record says so, and the refresh token is
            // presented again only once the access token no longer serves.
            await _fence.ReleaseAsync(fence, mayBeSpent: !PitchlyTokenClient.IsDefinitelyNotSpent(exception));
            throw;
        }

        return await _writer.WriteRefreshedAsync(fence, issued, handle);
    }

    /// <summary>
    /// Pitchly refused the refresh token. The record is removed only if its version is unchanged: if another holder
    /// stored newer tokens meanwhile (its refresh is why ours was refused), they survive and are used instead of signing
    /// the user out. An install with client credentials gets new tokens; a user must sign in again.
    /// </summary>
    private async ValueTask<RefreshResult> AfterInvalidGrantAsync(
        PitchlyTokenKey key,
        PitchlyTokenRecord refused,
        IPitchlyRefreshLockHandle handle,
        PitchlyTokenEndpointException exception,
        CancellationToken cancellationToken)
    {
        if (!await _store.RemoveAsync(key, refused.Version, CancellationToken.None))
        {
            var newer = await _store.GetAsync(key, CancellationToken.None);
            if (newer is not null && newer.Version != refused.Version)
            {
                Log.ReusedNewerToken(_logger, key, newer.Version);
                return RefreshResult.UseStored(newer, RefreshOutcome.ReusedNewer);
            }
        }

        Log.InvalidGrant(_logger, key);
        return key.Kind == PitchlyTokenKind.Install && _grant.CanAcquireInstallTokens
            ? await AcquireInstallTokensAsync(key, expectedVersion: 0, handle, cancellationToken)
            : throw TokenRecords.SignInRequired(key, "Pitchly refused its refresh token (invalid_grant)", exception);
    }

    private async ValueTask<RefreshResult> AcquireInstallTokensAsync(PitchlyTokenKey key, long expectedVersion, IPitchlyRefreshLockHandle handle, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var acquired = await _grant.ClientCredentialsAsync(key);
        return await _writer.WriteAsync(key, expectedVersion, acquired, handle, RefreshOutcome.Acquired);
    }

    /// <summary>
    /// Releases the lock. Once the callers and the store have the tokens, a lock that cannot be released only lapses
    /// with its lease, so the refresh still succeeds.
    /// </summary>
    private async ValueTask ReleaseLockAsync(PitchlyTokenKey key, IPitchlyRefreshLockHandle handle, bool tokensSettled)
    {
        if (!tokensSettled)
        {
            await handle.DisposeAsync();
            return;
        }

        try
        {
            await handle.DisposeAsync();
        }
        catch (Exception exception)
        {
            Log.LockReleaseFailed(_logger, key, exception);
        }
    }

    /// <summary>
    /// The question a waiter for the lock asks the record: is the lock still needed? The same first question as the re-read
    /// under the lock (<see cref="RenewalPolicy.IsAlreadyRenewed"/>), whose record is then the refresh's result.
    /// </summary>
    private sealed class StillNeeded(RefreshCoordinator coordinator, RefreshRequest request)
    {
        private PitchlyTokenRecord? _renewed;

        public async ValueTask<long?> ReadAsync(CancellationToken cancellationToken)
        {
            var record = await coordinator._store.GetAsync(request.Key, cancellationToken);
            if (record is not null
                && RenewalPolicy.IsAlreadyRenewed(record, request, coordinator._timeProvider.GetUtcNow(), coordinator._options.CurrentValue))
            {
                _renewed = record;
                return null;
            }

            return record?.Version ?? 0;
        }

        public RefreshResult Unneeded()
        {
            var renewed = _renewed ?? throw new InvalidOperationException("The refresh lock gave up waiting without an answer of its check.");
            Log.ReusedNewerToken(coordinator._logger, request.Key, renewed.Version);
            return RefreshResult.UseStored(renewed, RefreshOutcome.ReusedNewer);
        }
    }

    /// <summary>What a refresh does after its re-read, and with which record.</summary>
    private readonly record struct Decision(Step Step, PitchlyTokenRecord? Record, RefreshOutcome Outcome = RefreshOutcome.Failed);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2000, EventName = "RefreshStarted", Level = LogLevel.Debug, Message = "Refreshing the Pitchly tokens of {Key} ({Reason}).")]
        public static partial void RefreshStarted(ILogger logger, PitchlyTokenKey key, RefreshReason reason);

        [LoggerMessage(EventId = 2002, EventName = "ReusedNewerToken", Level = LogLevel.Debug, Message = "The Pitchly tokens of {Key} were already renewed (version {Version}); no refresh token spent.")]
        public static partial void ReusedNewerToken(ILogger logger, PitchlyTokenKey key, long version);

        [LoggerMessage(EventId = 2003, EventName = "InvalidGrant", Level = LogLevel.Warning, Message = "Pitchly refused the refresh token of {Key} (invalid_grant); its tokens were removed.")]
        public static partial void InvalidGrant(ILogger logger, PitchlyTokenKey key);

        [LoggerMessage(EventId = 2004, EventName = "RefreshFailed", Level = LogLevel.Error, Message = "The refresh of the Pitchly tokens of {Key} failed.")]
        public static partial void RefreshFailed(ILogger logger, PitchlyTokenKey key, Exception exception);

        [LoggerMessage(EventId = 2153, EventName = "OrganizationNotRegistered", Level = LogLevel.Warning, Message = "Refused client_credentials for {Key}: its organization is not in Pitchly:TokenManagement:ClientCredentialsOrganizations; no token was requested.")]
        public static partial void OrganizationNotRegistered(ILogger logger, PitchlyTokenKey key);

        [LoggerMessage(EventId = 2011, EventName = "LockLostBeforeRequest", Level = LogLevel.Warning, Message = "The refresh lock of {Key} was lost before the token request; nothing was sent, acquiring it again.")]
        public static partial void LockLostBeforeRequest(ILogger logger, PitchlyTokenKey key);

        [LoggerMessage(EventId = 2017, EventName = "LockReleaseFailed", Level = LogLevel.Warning, Message = "The refresh lock of {Key} could not be released after its tokens were stored; it lapses with its lease.")]
        public static partial void LockReleaseFailed(ILogger logger, PitchlyTokenKey key, Exception exception);

        [LoggerMessage(EventId = 2018, EventName = "RenewalDeferred", Level = LogLevel.Debug, Message = "Another instance holds the refresh lock of {Key}; its current access token (valid until {ExpiresAt:o}) serves while that instance renews it.")]
        public static partial void RenewalDeferred(ILogger logger, PitchlyTokenKey key, DateTimeOffset expiresAt);
    }
}

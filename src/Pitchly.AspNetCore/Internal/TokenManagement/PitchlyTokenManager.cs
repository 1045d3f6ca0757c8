using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// The refresh algorithm: single flight per key, a refresh detached from its callers, the refresh lock, a re-read of
/// the store after the lock, the token request, a compare-and-swap write, and notification of the new tokens.
/// </summary>
internal sealed partial class PitchlyTokenManager : IPitchlyTokenManager
{
    // A caller whose failed token comes back from a refresh it joined (one started before its token failed) starts
    // another; the bound stops a token Pitchly keeps rejecting from looping here (the handler then reports it).
    private const int MaxJoinAttempts = 3;

    // A lock lost between acquisition and the token request is acquired again, a bounded number of times.
    private const int MaxLockAttempts = 3;

    // How often freshly issued tokens are offered again to a token store that could not be reached.
    private static readonly TimeSpan StoreWriteRetryInterval = TimeSpan.FromMilliseconds(250);

    // How often a refresh waiting at another owner's fence reads the record when no change is announced.
    private static readonly TimeSpan FencePollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinFencePoll = TimeSpan.FromMilliseconds(20);

    private readonly ConcurrentDictionary<PitchlyTokenKey, Task<PitchlyAccessToken>> _inFlight = new();
    private readonly IPitchlyTokenStore _store;
    private readonly IPitchlyRefreshLock _refreshLock;
    private readonly PitchlyTokenClient _client;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly IPitchlyTokenRefreshedHandler[] _refreshedHandlers;
    private readonly ILogger<PitchlyTokenManager> _logger;
    private Pipelines? _pipelines;

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
        _refreshLock = refreshLock;
        _client = client;
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _refreshedHandlers = refreshedHandlers.ToArray();
        _logger = logger;
    }

    public ValueTask<PitchlyAccessToken> GetAccessTokenAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var read = _store.GetAsync(key, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return AwaitReadThenGetAccessTokenAsync(key, read, cancellationToken);
        }

        // A ValueTask may be consumed only once (a pooled one is reused afterwards): from here on only its result is used.
        var record = read.Result;

        // Hot path: a token outside its renewal window is returned without a lock, a task or a closure.
        if (record is not null && !NeedsRenewal(record))
        {
            return new ValueTask<PitchlyAccessToken>(new PitchlyAccessToken(record.AccessToken, record.ExpiresAt));
        }

        return GetAccessTokenSlowAsync(key, record, cancellationToken);
    }

    public async Task<PitchlyAccessToken> RefreshAsync(PitchlyTokenKey key, string? failedAccessToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var waitStarted = _timeProvider.GetTimestamp();
        try
        {
            var token = default(PitchlyAccessToken);
            for (var attempt = 0; attempt < MaxJoinAttempts; attempt++)
            {
                var refresh = StartOrJoinRefresh(key, failedAccessToken);
                token = await refresh.WaitAsync(cancellationToken);
                if (failedAccessToken is null || !string.Equals(token.Value, failedAccessToken, StringComparison.Ordinal))
                {
                    return token;
                }

                _inFlight.TryRemove(new KeyValuePair<PitchlyTokenKey, Task<PitchlyAccessToken>>(key, refresh));
            }

            return token;
        }
        finally
        {
            RecordRefreshWait(key, failedAccessToken is null ? "renewal" : "rejected", waitStarted);
        }
    }

    private async ValueTask<PitchlyAccessToken> AwaitReadThenGetAccessTokenAsync(PitchlyTokenKey key, ValueTask<PitchlyTokenRecord?> read, CancellationToken cancellationToken)
        => await GetAccessTokenSlowAsync(key, await read, cancellationToken);

    private async ValueTask<PitchlyAccessToken> GetAccessTokenSlowAsync(PitchlyTokenKey key, PitchlyTokenRecord? record, CancellationToken cancellationToken)
    {
        if (record is null)
        {
            if (key.Kind == PitchlyTokenKind.User)
            {
                throw SignInRequired(key, "no Pitchly tokens are stored for it");
            }

            var acquireStarted = _timeProvider.GetTimestamp();
            try
            {
                return await StartOrJoinRefresh(key, failedAccessToken: null).WaitAsync(cancellationToken);
            }
            finally
            {
                RecordRefreshWait(key, "missing", acquireStarted);
            }
        }

        if (!NeedsRenewal(record) || (IsFencedByAnother(record, owner: null) && record.ExpiresAt > _timeProvider.GetUtcNow()))
        {
            // Another owner is renewing it right now: the current token serves meanwhile.
            return ToAccessToken(record);
        }

        var renewal = StartOrJoinRefresh(key, failedAccessToken: null);
        if (!renewal.IsCompleted && CanServeDuringRenewal(record))
        {
            // A proactive renewal, early in its window: the shared refresh runs on its own (it never depended on its
            // callers), and this call goes on with the current token instead of waiting for the token request.
            return ToAccessToken(record);
        }

        var waitStarted = _timeProvider.GetTimestamp();
        try
        {
            return await renewal.WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not (PitchlySignInRequiredException or OperationCanceledException)
                                          && record.ExpiresAt > _timeProvider.GetUtcNow())
        {
            // A proactive renewal failed (endpoint down, store unavailable) while the current token is still valid:
            // the caller is better served by that token than by an error; the next call tries again.
            LogRenewalFailedUsingCurrentToken(_logger, key, record.ExpiresAt, exception);
            return ToAccessToken(record);
        }
        finally
        {
            RecordRefreshWait(key, "renewal", waitStarted);
        }
    }

    /// <summary>
    /// Lets a refresh no caller awaits (a renewal that ran beside its calls) fail quietly: its failure is logged by the
    /// refresh itself, and the next call finds the current token still in place and tries again.
    /// </summary>
    private static void ObserveFailure(Task<PitchlyAccessToken> refresh) =>
        refresh.ContinueWith(
            static completed => _ = completed.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>
    /// Records how long a call waited for a shared refresh. It runs in the waiting call's own context (the refresh
    /// runs in none), so a listener can attribute the wait to that call.
    /// </summary>
    private void RecordRefreshWait(PitchlyTokenKey key, string reason, long startedAt)
    {
        if (_metrics.RefreshWaitTime.Instrument.Enabled)
        {
            _metrics.RefreshWaitTime.Record(
                _timeProvider.GetElapsedTime(startedAt).TotalMilliseconds,
                new TagList { { PitchlyMetrics.RefreshReasonTag, reason }, { PitchlyMetrics.TokenKindTag, key.Kind.ToString() } });
        }
    }

    private Task<PitchlyAccessToken> StartOrJoinRefresh(PitchlyTokenKey key, string? failedAccessToken)
    {
        if (_inFlight.TryGetValue(key, out var running))
        {
            return running;
        }

        var completion = new TaskCompletionSource<PitchlyAccessToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shared = _inFlight.GetOrAdd(key, completion.Task);
        if (shared != completion.Task)
        {
            return shared;
        }

        ObserveFailure(completion.Task);

        // The shared refresh belongs to no caller: it must not run in the first caller's ExecutionContext (its
        // HttpContext, logging scopes, ambient Activity and AsyncLocals). Its span links to the caller's instead.
        var caller = Activity.Current?.Context;
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RunRefreshAsync(key, failedAccessToken, completion, caller));
        }

        return completion.Task;
    }

    /// <summary>
    /// Runs one shared refresh on its own timeout, never on a caller's token: a caller that stops waiting must not
    /// abandon a refresh Pitchly may already have performed, whose new refresh token only this code can store.
    /// </summary>
    private async Task RunRefreshAsync(PitchlyTokenKey key, string? failedAccessToken, TaskCompletionSource<PitchlyAccessToken> completion, ActivityContext? caller)
    {
        var started = _timeProvider.GetTimestamp();
        var outcome = "failed";
        using var activity = PitchlyMetrics.ActivitySource.StartActivity(
            "Pitchly token refresh",
            ActivityKind.Internal,
            parentContext: default,
            links: caller is { } link ? [new ActivityLink(link)] : null);
        activity?.SetTag("pitchly.token.kind", key.Kind.ToString());
        LogRefreshStarted(_logger, key, failedAccessToken is null ? "renewal" : "rejected token");

        // Everything that can throw (reading the options validates them) stays inside the try: a refresh that never
        // completes its task would stay in the single flight and hang every later caller of this key.
        CancellationTokenSource? timeout = null;
        var refreshTimeout = TimeSpan.Zero;
        try
        {
            var options = _options.CurrentValue;
            refreshTimeout = options.RefreshTimeout;
            timeout = new CancellationTokenSource(refreshTimeout, _timeProvider);
            var result = await GetPipelines(options).Refresh.ExecuteAsync(
                static (state, cancellationToken) => state.Manager.RefreshUnderLockAsync(state.Key, state.FailedAccessToken, state.Completion, cancellationToken),
                (Manager: this, Key: key, FailedAccessToken: failedAccessToken, Completion: completion),
                timeout.Token);
            outcome = result.Outcome;

            // Usually completed already, before the lock's release (TryRefreshUnderLockAsync).
            Complete(key, completion, () => completion.TrySetResult(result.Token));

            // The lock is released by now: a slow handler must not keep other instances waiting for it.
            if (result.Stored is { } stored)
            {
                await NotifyAsync(key, stored, timeout.Token);
            }
        }
        catch (OperationCanceledException exception) when (timeout?.IsCancellationRequested == true && !completion.Task.IsCompleted)
        {
            var timedOut = new TimeoutException(
                $"The refresh of the Pitchly tokens of {key} did not complete within {refreshTimeout} (Pitchly:TokenManagement:RefreshTimeout).",
                exception);
            LogRefreshFailed(_logger, key, timedOut);
            Complete(key, completion, () => completion.SetException(timedOut));
        }
        catch (Exception exception) when (!completion.Task.IsCompleted)
        {
            if (exception is PitchlySignInRequiredException)
            {
                outcome = "invalid_grant";
            }
            else
            {
                LogRefreshFailed(_logger, key, exception);
            }

            Complete(key, completion, () => completion.SetException(exception));
        }
        finally
        {
            timeout?.Dispose();
            var tags = new TagList { { "outcome", outcome }, { "pitchly.token.kind", key.Kind.ToString() } };
            _metrics.Refreshes.Add(1, tags);
            _metrics.RefreshDuration.Record(_timeProvider.GetElapsedTime(started).TotalMilliseconds, tags);
            activity?.SetTag("outcome", outcome);
        }
    }

    private void Complete(PitchlyTokenKey key, TaskCompletionSource<PitchlyAccessToken> completion, Action setOutcome)
    {
        // Leave the single flight before completing, so a caller woken by the result that needs another refresh
        // starts a new one instead of joining this finished one.
        _inFlight.TryRemove(new KeyValuePair<PitchlyTokenKey, Task<PitchlyAccessToken>>(key, completion.Task));
        setOutcome();
    }

    private async ValueTask<RefreshResult> RefreshUnderLockAsync(
        PitchlyTokenKey key,
        string? failedAccessToken,
        TaskCompletionSource<PitchlyAccessToken> completion,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxLockAttempts; attempt++)
        {
            if (await TryRefreshUnderLockAsync(key, failedAccessToken, completion, cancellationToken) is { } result)
            {
                return result;
            }
        }

        throw new PitchlyTokenStoreUnavailableException(
            $"The refresh of {key} could not start {MaxLockAttempts} times (its lock was lost, or its fence could not be written, before the token request); no token request was sent. Retry later.");
    }

    /// <summary>
    /// One pass of lock → re-read → fence → token request → write → release; <see langword="null"/> when it stopped
    /// before sending anything (the lock was lost, the fence could not be written or its send deadline passed). The
    /// waiting callers get the stored tokens before the lock is released: the release is one more round trip to the
    /// lock's store that they need not wait for, since the tokens are stored by then.
    /// </summary>
    private async ValueTask<RefreshResult?> TryRefreshUnderLockAsync(
        PitchlyTokenKey key,
        string? failedAccessToken,
        TaskCompletionSource<PitchlyAccessToken> completion,
        CancellationToken cancellationToken)
    {
        if (failedAccessToken is null && _refreshLock is IRefreshLockProbe probe)
        {
            // A renewal: if another instance holds the lock it is renewing these tokens, and the current access token is
            // still valid, so the callers take it now rather than queue behind that refresh (the next call after the
            // other instance's write reads the new tokens).
            var acquired = await probe.TryAcquireAsync(key, cancellationToken);
            if (acquired is null)
            {
                var current = await _store.GetAsync(key, cancellationToken);
                if (current is not null && current.ExpiresAt > _timeProvider.GetUtcNow())
                {
                    LogRenewalDeferred(_logger, key, current.ExpiresAt);
                    return new RefreshResult(ToAccessToken(current), "deferred");
                }
            }

            return await RefreshHoldingAsync(key, failedAccessToken, completion, acquired ?? await _refreshLock.AcquireAsync(key, cancellationToken), cancellationToken);
        }

        return await RefreshHoldingAsync(key, failedAccessToken, completion, await _refreshLock.AcquireAsync(key, cancellationToken), cancellationToken);
    }

    private async ValueTask<RefreshResult?> RefreshHoldingAsync(
        PitchlyTokenKey key,
        string? failedAccessToken,
        TaskCompletionSource<PitchlyAccessToken> completion,
        IPitchlyRefreshLockHandle handle,
        CancellationToken cancellationToken)
    {
        RefreshResult? result = null;
        try
        {
            result = await RefreshHoldingLockAsync(key, failedAccessToken, handle, cancellationToken);
            if (result is { } settled)
            {
                Complete(key, completion, () => completion.TrySetResult(settled.Token));
            }

            return result;
        }
        finally
        {
            if (result is null)
            {
                await handle.DisposeAsync();
            }
            else
            {
                try
                {
                    await handle.DisposeAsync();
                }
                catch (Exception exception)
                {
                    // The callers have their tokens and the store has them: a lock that could not be released only
                    // lapses with its lease, so the refresh still succeeds.
                    LogLockReleaseFailed(_logger, key, exception);
                }
            }
        }
    }

    private async ValueTask<RefreshResult?> RefreshHoldingLockAsync(
        PitchlyTokenKey key,
        string? failedAccessToken,
        IPitchlyRefreshLockHandle handle,
        CancellationToken cancellationToken)
    {
        // Re-read under the lock: another caller or instance may have refreshed while this one waited.
        var record = await _store.GetAsync(key, cancellationToken);
        while (true)
        {
            if (record is null)
            {
                return key.Kind == PitchlyTokenKind.User
                    ? throw SignInRequired(key, "no Pitchly tokens are stored for it")
                    : await AcquireInstallTokenAsync(key, expectedVersion: 0, handle, cancellationToken);
            }

            if (IsAlreadyRenewed(record, failedAccessToken))
            {
                LogReusedNewerToken(_logger, key, record.Version);
                return new RefreshResult(ToAccessToken(record), "reused_newer");
            }

            if (record.RefreshToken is null)
            {
                return key.Kind == PitchlyTokenKind.Install
                    ? await AcquireInstallTokenAsync(key, record.Version, handle, cancellationToken)
                    : throw SignInRequired(key, "its Pitchly tokens include no refresh token");
            }

            if (!IsFencedByAnother(record, owner: null))
            {
                break;
            }

            // Another owner is spending this refresh token (on another instance, or one that froze): never present it.
            if (failedAccessToken is null && record.ExpiresAt > _timeProvider.GetUtcNow())
            {
                // A renewal only: the current token still serves, and the fence's owner is renewing it.
                return new RefreshResult(ToAccessToken(record), "fenced");
            }

            record = await WaitAtFenceAsync(key, record, cancellationToken);
        }

        if (handle.LockLost.IsCancellationRequested)
        {
            // The lease lapsed before the fence: another holder may be about to fence this record. Nothing was sent,
            // so start over from the lock and the re-read instead.
            LogLockLostBeforeRequest(_logger, key);
            return null;
        }

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
            _ = ClearOwnFenceLaterAsync(key, owner, mayBeSpent: false);
            throw;
        }

        if (fenced is null)
        {
            // The record moved on, or another owner fenced it first: nothing was sent; the next pass re-reads.
            LogFenceRefused(_logger, key, record.Version);
            return null;
        }

        // From here until the fence is cleared or replaced, only this owner may present the refresh token. The lock is
        // stretched over the fence so other instances queue on the lock rather than at the fence (best effort).
        await handle.ExtendAsync(options.FenceTimeout, CancellationToken.None);

        // The send deadline, checked on both clocks right before sending: a process that froze since the fence was
        // written (the monotonic clock may stand still while a VM is suspended; the wall clock catches up) must not
        // send a request that could still be in flight when another owner may claim the record.
        var sendWindow = options.FenceTimeout - options.TokenRequestTimeout;
        var sinceFence = _timeProvider.GetElapsedTime(fencedAt);
        var sinceFenceWallClock = _timeProvider.GetUtcNow() - fencedAtWallClock;
        if (sinceFence >= sendWindow || sinceFenceWallClock >= sendWindow || cancellationToken.IsCancellationRequested)
        {
            LogSendDeadlinePassed(_logger, key, sendWindow);
            await ReleaseFenceAsync(key, fenced, mayBeSpent: false);
            cancellationToken.ThrowIfCancellationRequested();
            return null;
        }

        var requestedAt = _timeProvider.GetUtcNow();
        PitchlyTokenResponse response;
        try
        {
            // From here on the refresh token may be spent: the request, its answer and the write must not be cut
            // short by the refresh timeout, or the new refresh token would be lost. The request gives up by the end of
            // the fence at the latest, so no other owner can claim the record while it may still be answered.
            response = await _client.RefreshAsync(fenced.RefreshToken!, options.FenceTimeout - _timeProvider.GetElapsedTime(fencedAt), CancellationToken.None);
        }
        catch (PitchlyTokenEndpointException exception) when (exception.Error == "invalid_grant")
        {
            return await HandleInvalidGrantAsync(key, fenced, handle, exception, cancellationToken);
        }
        catch (Exception exception)
        {
            // Pitchly certainly did not take the refresh token (no connection, or an OAuth error): the fence goes and
            // the token is used again. Otherwise its fate is unknown: the record says so, and the refresh token is
            // presented again only once the access token no longer serves.
            var mayBeSpent = !PitchlyTokenClient.IsDefinitelyNotSpent(exception);
            await ReleaseFenceAsync(key, fenced, mayBeSpent);
            throw;
        }

        var refreshed = new PitchlyTokenRecord
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken ?? fenced.RefreshToken,
            Scope = response.Scope ?? fenced.Scope,
            OrganizationId = fenced.OrganizationId ?? key.OrganizationId,
        };
        return await StoreAsync(key, fenced.Version, refreshed, handle, "refreshed");
    }

    /// <summary>
    /// Waits at another owner's fence for the record to change (announced by the store where it can, else polled)
    /// or the fence to lapse, whichever comes first, within the refresh timeout.
    /// </summary>
    private async ValueTask<PitchlyTokenRecord?> WaitAtFenceAsync(PitchlyTokenKey key, PitchlyTokenRecord fencedRecord, CancellationToken cancellationToken)
    {
        var deadline = fencedRecord.RefreshIntent!.Deadline;
        LogWaitingAtFence(_logger, key, fencedRecord.Version, deadline);
        _metrics.FenceWaits.Add(1);
        while (true)
        {
            var untilDeadline = deadline - _timeProvider.GetUtcNow();
            var wait = untilDeadline < FencePollInterval ? (untilDeadline > MinFencePoll ? untilDeadline : MinFencePoll) : FencePollInterval;
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
    /// Clears this owner's fence when no new tokens came of its request, by compare-and-swap on the fenced version.
    /// Best effort: a fence that cannot be cleared lapses at its deadline.
    /// </summary>
    private async ValueTask ReleaseFenceAsync(PitchlyTokenKey key, PitchlyTokenRecord fenced, bool mayBeSpent)
    {
        try
        {
            await _store.TryReplaceAsync(key, fenced.Version, fenced with { RefreshIntent = null, RefreshTokenMayBeSpent = fenced.RefreshTokenMayBeSpent || mayBeSpent }, CancellationToken.None);
        }
        catch (PitchlyTokenStoreUnavailableException exception)
        {
            LogFenceNotCleared(_logger, key, exception);
            _ = ClearOwnFenceLaterAsync(key, fenced.RefreshIntent!.Owner, mayBeSpent);
        }

        if (mayBeSpent)
        {
            LogRefreshTokenMayBeSpent(_logger, key);
        }
    }

    /// <summary>
    /// Clears the fence of <paramref name="owner"/>, if the record still carries it, once the store can be reached again
    /// (retried for <see cref="PitchlyTokenManagementOptions.StoreWriteRetryTimeout"/>; after that it lapses at its deadline).
    /// Runs in the background: no caller waits for the store to come back.
    /// </summary>
    private async Task ClearOwnFenceLaterAsync(PitchlyTokenKey key, string owner, bool mayBeSpent)
    {
        try
        {
            await GetPipelines(_options.CurrentValue).StoreWrite.ExecuteAsync(
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
            LogFenceNotCleared(_logger, key, exception);
        }
    }

    private async ValueTask<RefreshResult> HandleInvalidGrantAsync(
        PitchlyTokenKey key,
        PitchlyTokenRecord record,
        IPitchlyRefreshLockHandle handle,
        PitchlyTokenEndpointException exception,
        CancellationToken cancellationToken)
    {
        // Removal is conditional on the version read: if another holder stored newer tokens meanwhile (its refresh is
        // why ours was refused), they survive and are used instead of signing the user out.
        if (!await _store.RemoveAsync(key, record.Version, CancellationToken.None))
        {
            var newer = await _store.GetAsync(key, CancellationToken.None);
            if (newer is not null && newer.Version != record.Version)
            {
                LogReusedNewerToken(_logger, key, newer.Version);
                return new RefreshResult(ToAccessToken(newer), "reused_newer");
            }
        }

        LogInvalidGrant(_logger, key);
        if (key.Kind == PitchlyTokenKind.Install && HasClientCredentials)
        {
            return await AcquireInstallTokenAsync(key, expectedVersion: 0, handle, cancellationToken);
        }

        throw SignInRequired(key, "Pitchly refused its refresh token (invalid_grant)", exception);
    }

    private async ValueTask<RefreshResult> AcquireInstallTokenAsync(
        PitchlyTokenKey key,
        long expectedVersion,
        IPitchlyRefreshLockHandle handle,
        CancellationToken cancellationToken)
    {
        // Nothing single-use is spent by a client_credentials grant, so no fence; not cut short by the refresh timeout
        // either: tokens Pitchly issues are stored rather than dropped.
        cancellationToken.ThrowIfCancellationRequested();
        var requestedAt = _timeProvider.GetUtcNow();
        var response = await _client.ClientCredentialsAsync(key.OrganizationId, CancellationToken.None);
        var acquired = new PitchlyTokenRecord
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken,
            Scope = response.Scope,
            OrganizationId = key.OrganizationId,
        };
        return await StoreAsync(key, expectedVersion, acquired, handle, "acquired");
    }

    private async ValueTask<RefreshResult> StoreAsync(
        PitchlyTokenKey key,
        long expectedVersion,
        PitchlyTokenRecord record,
        IPitchlyRefreshLockHandle handle,
        string outcome)
    {
        if (handle.LockLost.IsCancellationRequested)
        {
            // The lock lapsed while Pitchly answered. The old refresh token is spent either way, and the new one exists
            // only in this process: dropping it would sign the user out. The fence kept everyone else from presenting
            // the old one, and the compare-and-swap below succeeds only if nobody stored anything since.
            LogLockLostBeforeWrite(_logger, key);
        }

        // Not cancellable, and retried while the store is unreachable: once Pitchly has issued tokens they exist only
        // here, and losing them would leave the store with a refresh token Pitchly has already spent.
        var stored = await GetPipelines(_options.CurrentValue).StoreWrite.ExecuteAsync(
            static (state, _) => state.Store.TryReplaceAsync(state.Key, state.ExpectedVersion, state.Record, CancellationToken.None),
            (Store: _store, Key: key, ExpectedVersion: expectedVersion, Record: record),
            CancellationToken.None);
        if (stored is null)
        {
            var current = await _store.GetAsync(key, CancellationToken.None);
            if (current is not null
                && string.Equals(current.AccessToken, record.AccessToken, StringComparison.Ordinal)
                && string.Equals(current.RefreshToken, record.RefreshToken, StringComparison.Ordinal))
            {
                // A retried write whose first attempt landed but whose answer was lost: these are our tokens.
                LogStored(_logger, key, current.Version, current.ExpiresAt);
                return new RefreshResult(ToAccessToken(current), outcome, current);
            }

            _metrics.CompareAndSwapConflicts.Add(1);
            LogCompareAndSwapConflict(_logger, key, expectedVersion, current?.Version);
            return current is null
                ? throw SignInRequired(key, "its Pitchly tokens were removed while they were being refreshed")
                : new RefreshResult(ToAccessToken(current), "reused_newer");
        }

        LogStored(_logger, key, stored.Version, stored.ExpiresAt);
        return new RefreshResult(ToAccessToken(stored), outcome, stored);
    }

    private async ValueTask NotifyAsync(PitchlyTokenKey key, PitchlyTokenRecord stored, CancellationToken cancellationToken)
    {
        if (_refreshedHandlers.Length == 0)
        {
            return;
        }

        var context = new PitchlyTokenRefreshedContext(key, ToAccessToken(stored), stored.Scope);
        foreach (var handler in _refreshedHandlers)
        {
            try
            {
                await handler.OnTokenRefreshedAsync(context, cancellationToken);
            }
            catch (Exception exception)
            {
                // The tokens are stored: a handler that fails or outlives the refresh timeout is logged, and the
                // refresh still succeeds.
                LogRefreshedHandlerFailed(_logger, key, handler.GetType().FullName, exception);
            }
        }
    }

    private bool NeedsRenewal(PitchlyTokenRecord record)
    {
        if (record.RefreshTokenMayBeSpent)
        {
            // Its last refresh lost its answer: present that refresh token again only when the access token is gone.
            return _timeProvider.GetUtcNow() >= record.ExpiresAt;
        }

        return _timeProvider.GetUtcNow() >= record.ExpiresAt - RenewalWindow(record);
    }

    /// <summary>How long before its expiry a record is renewed: <see cref="PitchlyTokenManagementOptions.RefreshBeforeExpiry"/>, at most half its lifetime.</summary>
    private TimeSpan RenewalWindow(PitchlyTokenRecord record)
    {
        var window = _options.CurrentValue.RefreshBeforeExpiry;
        if (record.IssuedAt is { } issuedAt)
        {
            var halfLifetime = (record.ExpiresAt - issuedAt) / 2;
            if (halfLifetime < window)
            {
                window = halfLifetime;
            }
        }

        return window;
    }

    /// <summary>
    /// Whether a call may take the current token while its renewal runs in the background: in the first half of the
    /// renewal window, where the token still has at least half the window to live, which a renewal (a token request,
    /// with its retries bounded well below that for any sensible window) does not outlast. Closer to expiry, and for a
    /// token whose last refresh lost its answer, callers wait for the new token.
    /// </summary>
    private bool CanServeDuringRenewal(PitchlyTokenRecord record) =>
        !record.RefreshTokenMayBeSpent && record.ExpiresAt - _timeProvider.GetUtcNow() > RenewalWindow(record) / 2;

    /// <summary>Whether the stored tokens are already newer than what this refresh was started for.</summary>
    private bool IsAlreadyRenewed(PitchlyTokenRecord record, string? failedAccessToken)
        => failedAccessToken is null
            ? !NeedsRenewal(record)
            : !string.Equals(record.AccessToken, failedAccessToken, StringComparison.Ordinal) && record.ExpiresAt > _timeProvider.GetUtcNow();

    private bool HasClientCredentials
    {
        get
        {
            var options = _options.CurrentValue;
            return !string.IsNullOrEmpty(options.ClientId) && !string.IsNullOrEmpty(options.ClientSecret);
        }
    }

    private Pipelines GetPipelines(PitchlyTokenManagementOptions options)
    {
        // Read and swapped as one reference: a caller never pairs one options instance's pipeline with another's.
        var cached = Volatile.Read(ref _pipelines);
        if (cached is not null && ReferenceEquals(cached.Options, options))
        {
            return cached;
        }

        // Only a request that never reached Pitchly is repeated, and each attempt re-enters lock → re-read → fence →
        // request, so a retry never sends a refresh token that another holder has spent in the meantime.
        var refresh = BuildRetryPipeline(
            "Pitchly.TokenRefresh",
            new PredicateBuilder().Handle<PitchlyTokenEndpointException>(PitchlyTokenClient.IsConnectionNotEstablished),
            options.TokenEndpointRetryInterval,
            options.TokenEndpointRetryTimeout,
            arguments => LogTokenEndpointUnreachable(_logger, arguments.AttemptNumber + 1, arguments.RetryDelay));
        var storeWrite = BuildRetryPipeline(
            "Pitchly.TokenStoreWrite",
            new PredicateBuilder().Handle<PitchlyTokenStoreUnavailableException>(),
            StoreWriteRetryInterval,
            options.StoreWriteRetryTimeout,
            arguments => LogStoreWriteRetry(_logger, arguments.AttemptNumber + 1, arguments.Outcome.Exception));
        var built = new Pipelines(options, refresh, storeWrite);
        Volatile.Write(ref _pipelines, built);
        return built;
    }

    private ResiliencePipeline BuildRetryPipeline(string name, PredicateBuilder<object> shouldHandle, TimeSpan interval, TimeSpan total, Action<OnRetryArguments<object>> onRetry)
    {
        var builder = new ResiliencePipelineBuilder { Name = name, TimeProvider = _timeProvider };
        var retries = total.Ticks / interval.Ticks;
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = shouldHandle,
                MaxRetryAttempts = (int)Math.Min(retries, int.MaxValue),
                Delay = interval,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                OnRetry = arguments =>
                {
                    onRetry(arguments);
                    return default;
                },
            });
        }

        return builder.Build();
    }

    private static PitchlyAccessToken ToAccessToken(PitchlyTokenRecord record) => new(record.AccessToken, record.ExpiresAt);

    /// <summary>Whether another owner's fence on <paramref name="record"/> is still live on this instance's clock.</summary>
    private bool IsFencedByAnother(PitchlyTokenRecord record, string? owner)
        => record.RefreshIntent is { } intent && intent.Owner != owner && intent.Deadline > _timeProvider.GetUtcNow();

    private sealed record Pipelines(PitchlyTokenManagementOptions Options, ResiliencePipeline Refresh, ResiliencePipeline StoreWrite);

    /// <summary>What one refresh produced; <see cref="Stored"/> is set when this refresh wrote new tokens (handlers are told).</summary>
    private readonly record struct RefreshResult(PitchlyAccessToken Token, string Outcome, PitchlyTokenRecord? Stored = null);

    private static PitchlySignInRequiredException SignInRequired(PitchlyTokenKey key, string reason, Exception? innerException = null)
        => new(
            key,
            key.Kind == PitchlyTokenKind.User
                ? $"The user {key} must sign in with Pitchly again: {reason}."
                : $"The install {key} must be connected to Pitchly again: {reason}.",
            innerException);

    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "Refreshing the Pitchly tokens of {Key} ({Reason}).")]
    private static partial void LogRefreshStarted(ILogger logger, PitchlyTokenKey key, string reason);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Stored new Pitchly tokens for {Key}: version {Version}, expiring {ExpiresAt:O}.")]
    private static partial void LogStored(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "The Pitchly tokens of {Key} were already renewed (version {Version}); no refresh token spent.")]
    private static partial void LogReusedNewerToken(ILogger logger, PitchlyTokenKey key, long version);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Pitchly refused the refresh token of {Key} (invalid_grant); its tokens were removed.")]
    private static partial void LogInvalidGrant(ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "The refresh of the Pitchly tokens of {Key} failed.")]
    private static partial void LogRefreshFailed(ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "The Pitchly tokens of {Key} moved on from version {ExpectedVersion} to {CurrentVersion} during the refresh; using the stored ones.")]
    private static partial void LogCompareAndSwapConflict(ILogger logger, PitchlyTokenKey key, long expectedVersion, long? currentVersion);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "The refresh lock of {Key} was lost before the new tokens were stored; storing them by compare-and-swap.")]
    private static partial void LogLockLostBeforeWrite(ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Pitchly's token endpoint could not be reached; attempt {Attempt} in {Delay}.")]
    private static partial void LogTokenEndpointUnreachable(ILogger logger, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "The refresh lock of {Key} was lost before the token request; nothing was sent, acquiring it again.")]
    private static partial void LogLockLostBeforeRequest(ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "The token store could not be reached to save newly issued Pitchly tokens; attempt {Attempt}, trying again.")]
    private static partial void LogStoreWriteRetry(ILogger logger, int attempt, Exception? exception);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "The token-refreshed handler {Handler} failed for {Key}; the tokens are stored.")]
    private static partial void LogRefreshedHandlerFailed(ILogger logger, PitchlyTokenKey key, string? handler, Exception exception);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Another refresh of the Pitchly tokens of {Key} is in flight (version {Version}, fenced until {Deadline:O}); waiting for its tokens instead of presenting the same refresh token.")]
    private static partial void LogWaitingAtFence(ILogger logger, PitchlyTokenKey key, long version, DateTimeOffset deadline);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Debug, Message = "The fence of the Pitchly tokens of {Key} could not be written at version {Version} (the record moved on or another refresh fenced it); nothing was sent.")]
    private static partial void LogFenceRefused(ILogger logger, PitchlyTokenKey key, long version);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "The refresh of {Key} reached its send deadline ({SendWindow} after its fence) before sending; nothing was sent.")]
    private static partial void LogSendDeadlinePassed(ILogger logger, PitchlyTokenKey key, TimeSpan sendWindow);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "The fence of the Pitchly tokens of {Key} could not be cleared; it lapses at its deadline.")]
    private static partial void LogFenceNotCleared(ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "The answer to the refresh of {Key} was lost, so its refresh token may be spent; the current access token is used until it expires or is rejected.")]
    private static partial void LogRefreshTokenMayBeSpent(ILogger logger, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Debug, Message = "Another instance holds the refresh lock of {Key}; its current access token (valid until {ExpiresAt:o}) serves while that instance renews it.")]
    private static partial void LogRenewalDeferred(ILogger logger, PitchlyTokenKey key, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "The refresh lock of {Key} could not be released after its tokens were stored; it lapses with its lease.")]
    private static partial void LogLockReleaseFailed(ILogger logger, PitchlyTokenKey key, Exception exception);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Renewing the Pitchly tokens of {Key} failed; using the current token, valid until {ExpiresAt:O}.")]
    private static partial void LogRenewalFailedUsingCurrentToken(ILogger logger, PitchlyTokenKey key, DateTimeOffset expiresAt, Exception exception);
}

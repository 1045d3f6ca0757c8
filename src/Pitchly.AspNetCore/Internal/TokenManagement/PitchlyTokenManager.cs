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

    private readonly ConcurrentDictionary<PitchlyTokenKey, Task<PitchlyAccessToken>> _inFlight = new();
    private readonly IPitchlyTokenStore _store;
    private readonly IPitchlyRefreshLock _refreshLock;
    private readonly PitchlyTokenClient _client;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly IPitchlyTokenRefreshedHandler[] _refreshedHandlers;
    private readonly ILogger<PitchlyTokenManager> _logger;
    private (PitchlyTokenManagementOptions Options, ResiliencePipeline Refresh, ResiliencePipeline StoreWrite)? _pipelines;

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

            return await StartOrJoinRefresh(key, failedAccessToken: null).WaitAsync(cancellationToken);
        }

        if (!NeedsRenewal(record))
        {
            return ToAccessToken(record);
        }

        try
        {
            return await StartOrJoinRefresh(key, failedAccessToken: null).WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not (PitchlySignInRequiredException or OperationCanceledException)
                                          && record.ExpiresAt > _timeProvider.GetUtcNow())
        {
            // A proactive renewal failed (endpoint down, store unavailable) while the current token is still valid:
            // the caller is better served by that token than by an error; the next call tries again.
            LogRenewalFailedUsingCurrentToken(_logger, key, record.ExpiresAt, exception);
            return ToAccessToken(record);
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

        _ = RunRefreshAsync(key, failedAccessToken, completion);
        return completion.Task;
    }

    /// <summary>
    /// Runs one shared refresh on its own timeout, never on a caller's token: a caller that stops waiting must not
    /// abandon a refresh Pitchly may already have performed, whose new refresh token only this code can store.
    /// </summary>
    private async Task RunRefreshAsync(PitchlyTokenKey key, string? failedAccessToken, TaskCompletionSource<PitchlyAccessToken> completion)
    {
        var started = _timeProvider.GetTimestamp();
        var outcome = "failed";
        using var activity = PitchlyMetrics.ActivitySource.StartActivity("Pitchly token refresh");
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
                static (state, cancellationToken) => state.Manager.RefreshUnderLockAsync(state.Key, state.FailedAccessToken, cancellationToken),
                (Manager: this, Key: key, FailedAccessToken: failedAccessToken),
                timeout.Token);
            outcome = result.Outcome;
            Complete(key, completion, () => completion.SetResult(result.Token));
        }
        catch (OperationCanceledException exception) when (timeout?.IsCancellationRequested == true)
        {
            var timedOut = new TimeoutException(
                $"The refresh of the Pitchly tokens of {key} did not complete within {refreshTimeout} (Pitchly:TokenManagement:RefreshTimeout).",
                exception);
            LogRefreshFailed(_logger, key, timedOut);
            Complete(key, completion, () => completion.SetException(timedOut));
        }
        catch (Exception exception)
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

    private async ValueTask<(PitchlyAccessToken Token, string Outcome)> RefreshUnderLockAsync(PitchlyTokenKey key, string? failedAccessToken, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxLockAttempts; attempt++)
        {
            if (await TryRefreshUnderLockAsync(key, failedAccessToken, cancellationToken) is { } result)
            {
                return result;
            }
        }

        throw new PitchlyTokenStoreUnavailableException(
            $"The refresh lock of {key} was lost {MaxLockAttempts} times before the token request could be sent; no refresh token was spent. Retry later.");
    }

    /// <summary>One pass of lock → re-read → token request → write; <see langword="null"/> when the lock was lost before the request.</summary>
    private async ValueTask<(PitchlyAccessToken Token, string Outcome)?> TryRefreshUnderLockAsync(PitchlyTokenKey key, string? failedAccessToken, CancellationToken cancellationToken)
    {
        await using var handle = await _refreshLock.AcquireAsync(key, cancellationToken);

        // Re-read under the lock: another caller or instance may have refreshed while this one waited.
        var record = await _store.GetAsync(key, cancellationToken);
        if (record is null)
        {
            return key.Kind == PitchlyTokenKind.User
                ? throw SignInRequired(key, "no Pitchly tokens are stored for it")
                : await AcquireInstallTokenAsync(key, expectedVersion: 0, handle, cancellationToken);
        }

        if (IsAlreadyRenewed(record, failedAccessToken))
        {
            LogReusedNewerToken(_logger, key, record.Version);
            return (ToAccessToken(record), "reused_newer");
        }

        if (record.RefreshToken is null)
        {
            return key.Kind == PitchlyTokenKind.Install
                ? await AcquireInstallTokenAsync(key, record.Version, handle, cancellationToken)
                : throw SignInRequired(key, "its Pitchly tokens include no refresh token");
        }

        if (handle.LockLost.IsCancellationRequested)
        {
            // The lease lapsed before the request: another holder may be spending this refresh token right now.
            // Nothing was sent, so start over from the lock and the re-read instead.
            LogLockLostBeforeRequest(_logger, key);
            return null;
        }

        var requestedAt = _timeProvider.GetUtcNow();
        PitchlyTokenResponse response;
        try
        {
            // From here on the refresh token may be spent: the request, its answer and the write must not be cut
            // short by the refresh timeout, or the new refresh token would be lost and the old one sent again.
            // TokenRequestTimeout still bounds a request Pitchly never answers.
            response = await _client.RefreshAsync(record.RefreshToken, CancellationToken.None);
        }
        catch (PitchlyTokenEndpointException exception) when (exception.Error == "invalid_grant")
        {
            return await HandleInvalidGrantAsync(key, record, handle, exception, cancellationToken);
        }

        var refreshed = new PitchlyTokenRecord
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken ?? record.RefreshToken,
            Scope = response.Scope ?? record.Scope,
            OrganizationId = record.OrganizationId ?? key.OrganizationId,
        };
        return await StoreAsync(key, record.Version, refreshed, handle, "refreshed", cancellationToken);
    }

    private async ValueTask<(PitchlyAccessToken Token, string Outcome)> HandleInvalidGrantAsync(
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
                return (ToAccessToken(newer), "reused_newer");
            }
        }

        LogInvalidGrant(_logger, key);
        if (key.Kind == PitchlyTokenKind.Install && HasClientCredentials)
        {
            return await AcquireInstallTokenAsync(key, expectedVersion: 0, handle, cancellationToken);
        }

        throw SignInRequired(key, "Pitchly refused its refresh token (invalid_grant)", exception);
    }

    private async ValueTask<(PitchlyAccessToken Token, string Outcome)> AcquireInstallTokenAsync(
        PitchlyTokenKey key,
        long expectedVersion,
        IPitchlyRefreshLockHandle handle,
        CancellationToken cancellationToken)
    {
        // Not cut short by the refresh timeout: tokens Pitchly issues are stored rather than dropped.
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
        return await StoreAsync(key, expectedVersion, acquired, handle, "acquired", cancellationToken);
    }

    private async ValueTask<(PitchlyAccessToken Token, string Outcome)> StoreAsync(
        PitchlyTokenKey key,
        long expectedVersion,
        PitchlyTokenRecord record,
        IPitchlyRefreshLockHandle handle,
        string outcome,
        CancellationToken notifyCancellationToken)
    {
        if (handle.LockLost.IsCancellationRequested)
        {
            // The lock lapsed while Pitchly answered. The old refresh token is spent either way, and the new one exists
            // only in this process: dropping it would sign the user out. The compare-and-swap below keeps the write
            // safe without the lock: it succeeds only if nobody stored anything since the read, and a holder that
            // took the lock over will then fail its own swap and re-read these tokens.
            LogLockLostBeforeWrite(_logger, key);
        }

        // Not cancellable, and retried while the store is unreachable: once Pitchly has issued tokens they exist only
        // here, and losing them would leave the store with a refresh token Pitchly has already spent. A retry after a
        // write whose answer was lost finds its own record: the swap is refused and the re-read below returns it.
        var stored = await GetPipelines(_options.CurrentValue).StoreWrite.ExecuteAsync(
            static (state, _) => state.Store.TryReplaceAsync(state.Key, state.ExpectedVersion, state.Record, CancellationToken.None),
            (Store: _store, Key: key, ExpectedVersion: expectedVersion, Record: record),
            CancellationToken.None);
        if (stored is null)
        {
            _metrics.CompareAndSwapConflicts.Add(1);
            var current = await _store.GetAsync(key, CancellationToken.None);
            LogCompareAndSwapConflict(_logger, key, expectedVersion, current?.Version);
            return current is null
                ? throw SignInRequired(key, "its Pitchly tokens were removed while they were being refreshed")
                : (ToAccessToken(current), "reused_newer");
        }

        LogStored(_logger, key, stored.Version, stored.ExpiresAt);
        await NotifyAsync(key, stored, notifyCancellationToken);
        return (ToAccessToken(stored), outcome);
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
        var window = _options.CurrentValue.RefreshBeforeExpiry;
        if (record.IssuedAt is { } issuedAt)
        {
            var halfLifetime = (record.ExpiresAt - issuedAt) / 2;
            if (halfLifetime < window)
            {
                window = halfLifetime;
            }
        }

        return _timeProvider.GetUtcNow() >= record.ExpiresAt - window;
    }

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

    private (ResiliencePipeline Refresh, ResiliencePipeline StoreWrite) GetPipelines(PitchlyTokenManagementOptions options)
    {
        var cached = _pipelines;
        if (cached is { } hit && ReferenceEquals(hit.Options, options))
        {
            return (hit.Refresh, hit.StoreWrite);
        }

        // Only a request that never reached Pitchly is repeated, and each attempt re-enters lock → re-read → request,
        // so a retry never sends a refresh token that another holder has spent in the meantime.
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
        _pipelines = (options, refresh, storeWrite);
        return (refresh, storeWrite);
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

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Renewing the Pitchly tokens of {Key} failed; using the current token, valid until {ExpiresAt:O}.")]
    private static partial void LogRenewalFailedUsingCurrentToken(ILogger logger, PitchlyTokenKey key, DateTimeOffset expiresAt, Exception exception);
}

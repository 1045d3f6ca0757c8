using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Replay;
using Pitchly.AspNetCore.Internal.Users;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>
/// Runs each subscription on its own connection, driven by a pump that owns the connection's life: it takes the token
/// from the token manager, refreshes it with the rejected token when Pitchly closes with 4403 (the replay rule of
/// <see cref="ReplaySequence"/>: again while each attempt carries a token newer than the rejected ones, within the
/// refresh timeout, and never for a third token rejected right away), and re-establishes lost connections with
/// jittered exponential backoff, bounded. Across subscriptions and HTTP calls of a key, the
/// <see cref="RejectedTokenBreaker"/> has the last word: every rejected token is reported to it before a refresh, a
/// connection that served reports a success, and no connection is opened while refreshing the key is paused, so an
/// endpoint that rejects every socket costs a bounded number of grants however often the application subscribes again.
/// </summary>
internal sealed class PitchlySubscriptionClient : IPitchlySubscriptionClient
{
    // A rejection followed by two freshly refreshed tokens rejected right away: the tokens are not the problem.
    internal const int MaxRejectionsInARow = 3;

    // Pitchly's clock and the expiry computed from expires_in on receipt differ by latency and rounding.
    private static readonly TimeSpan ExpiryTolerance = TimeSpan.FromSeconds(2);

    // Room for bursts while the application processes an event; the pump waits beyond it.
    private const int EventBufferCapacity = 256;

    private static long s_nextId;

    private readonly IPitchlyTokenManager _tokenManager;
    private readonly CurrentUserKey _currentUser;
    private readonly IOptionsMonitor<PitchlySubscriptionClientOptions> _options;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _tokenManagementOptions;
    private readonly TimeProvider _time;
    private readonly PitchlyMetrics _metrics;
    private readonly RejectedTokenBreaker _breaker;
    private readonly ILogger _logger;

    public PitchlySubscriptionClient(
        IPitchlyTokenManager tokenManager,
        CurrentUserKey currentUser,
        IOptionsMonitor<PitchlySubscriptionClientOptions> options,
        IOptionsMonitor<PitchlyTokenManagementOptions> tokenManagementOptions,
        TimeProvider time,
        PitchlyMetrics metrics,
        RejectedTokenBreaker breaker,
        ILogger<PitchlySubscriptionClient> logger)
    {
        _tokenManager = tokenManager;
        _currentUser = currentUser;
        _options = options;
        _tokenManagementOptions = tokenManagementOptions;
        _time = time;
        _metrics = metrics;
        _breaker = breaker;
        _logger = logger;
    }

    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    public IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyGraphQLRequest request, CancellationToken cancellationToken = default)
        => SubscribeAsync(request, ReflectionTypeInfo<TData>(), cancellationToken);

    public IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(dataTypeInfo);

        // Asked now, in the caller's context: the request or circuit activity that starts a subscription may be over long
        // before the subscription is, and its first event read.
        var key = _currentUser.GetAsync(cancellationToken).AsTask();
        return RunAsUserAsync(key, request, dataTypeInfo, cancellationToken);
    }

    private async IAsyncEnumerable<PitchlyGraphQLResponse<TData>> RunAsUserAsync<TData>(Task<PitchlyTokenKey?> pendingKey, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken callerToken, [EnumeratorCancellation] CancellationToken enumeratorToken = default)
    {
        var key = await pendingKey
            ?? throw new PitchlySignInRequiredException("Subscribing to Pitchly as the user needs a user signed in with Pitchly, and the current request or circuit has none. Background services pass the key (for example PitchlyTokenKey.ForInstall) to SubscribeAsync.");
        await foreach (var response in RunAsync(NewRequest(key, request, dataTypeInfo), callerToken, enumeratorToken))
        {
            yield return response;
        }
    }

    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    public IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, CancellationToken cancellationToken = default)
        => SubscribeAsync(key, request, ReflectionTypeInfo<TData>(), cancellationToken);

    public IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(dataTypeInfo);
        return RunAsync(NewRequest(key, request, dataTypeInfo), cancellationToken);
    }

    [RequiresUnreferencedCode("Reflection-based serialization.")]
    [RequiresDynamicCode("Reflection-based serialization.")]
    private static JsonTypeInfo<TData> ReflectionTypeInfo<TData>() => (JsonTypeInfo<TData>)JsonSerializerOptions.Web.GetTypeInfo(typeof(TData));

    private static SubscriptionRequest<TData> NewRequest<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo) =>
        new(key, request, dataTypeInfo, Interlocked.Increment(ref s_nextId).ToString(System.Globalization.CultureInfo.InvariantCulture));

    private async IAsyncEnumerable<PitchlyGraphQLResponse<TData>> RunAsync<TData>(SubscriptionRequest<TData> subscription, CancellationToken callerToken, [EnumeratorCancellation] CancellationToken enumeratorToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(callerToken, enumeratorToken);
        var channel = Channel.CreateBounded<PitchlyGraphQLResponse<TData>>(new BoundedChannelOptions(EventBufferCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        // The pump runs on its own task so the connection keeps being read (and pings answered) while the application
        // processes an event.
        var pump = Task.Run(() => PumpAsync(subscription, channel.Writer, stop.Token), CancellationToken.None);
        _metrics.ActiveSubscriptions.Add(1);

        // Held only by this enumerator (the pump never sees it): an enumerator the application drops without disposing
        // it becomes unreachable while it waits at a yield, and the owner's finalizer then ends the pump, which closes
        // the connection, instead of the socket living as long as the process.
        var owner = new AbandonmentOwner(this, subscription.Id, subscription.Key, stop, pump);
        try
        {
            await foreach (var response in channel.Reader.ReadAllAsync(stop.Token))
            {
                yield return response;
            }

            // A stopping pump completes the channel, and that can reach the read before its own cancellation does: a
            // stop the caller asked for still ends the enumeration with OperationCanceledException, not as if the
            // subscription had completed.
            callerToken.ThrowIfCancellationRequested();
            enumeratorToken.ThrowIfCancellationRequested();
        }
        finally
        {
            // Leaving the loop for any reason (break, cancellation, an error) ends the subscription cleanly.
            owner.Release();
            await stop.CancelAsync();
            await pump;
            _metrics.ActiveSubscriptions.Add(-1);
        }
    }

    /// <summary>Runs the subscription's connections until it completes, fails or is stopped; completes the channel either way.</summary>
    private async Task PumpAsync<TData>(SubscriptionRequest<TData> subscription, ChannelWriter<PitchlyGraphQLResponse<TData>> events, CancellationToken stop)
    {
        try
        {
            await RunConnectionsAsync(subscription, events, stop);
            events.TryComplete();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            SubscriptionLog.Stopped(_logger, subscription.Id, subscription.Key);
            events.TryComplete();
        }
        catch (Exception exception)
        {
            if (exception is PitchlyException and not PitchlySubscriptionReconnectException)
            {
                SubscriptionLog.Failed(_logger, subscription.Id, subscription.Key, exception.Message);
            }

            events.TryComplete(exception);
        }
    }

    private async Task RunConnectionsAsync<TData>(SubscriptionRequest<TData> subscription, ChannelWriter<PitchlyGraphQLResponse<TData>> events, CancellationToken stop)
    {
        var key = subscription.Key;
        var options = _options.CurrentValue;
        var endpoint = options.Endpoint ?? throw new PitchlySubscriptionException("Pitchly:Subscriptions:Endpoint is not set and could not be derived from Pitchly:GraphQLEndpoint.");

        // The current run of rejections (null while there is none), and the rejected token to refresh with.
        ReplaySequence? rejections = null;
        string? mustRefresh = null;
        var failedAttempts = 0;

        while (true)
        {
            // As on the HTTP path: while the key's refreshing is paused, no socket is opened with its tokens.
            _breaker.ThrowIfPaused(key);
            PitchlyAccessToken token;
            try
            {
                token = mustRefresh is null
                    ? await _tokenManager.GetAccessTokenAsync(key, stop)
                    : await _tokenManager.RefreshAsync(key, mustRefresh, stop);
            }
            catch (Exception exception) when (exception is PitchlyTokenEndpointException or PitchlyTokenStoreUnavailableException && !stop.IsCancellationRequested)
            {
                // The token manager has retried already; count it as a failed attempt and back off.
                failedAttempts = await BackOffAsync(subscription, options, failedAttempts, "token_unavailable", null, exception, stop);
                continue;
            }

            if (mustRefresh is not null)
            {
                if (!rejections!.IsNewer(token.Value))
                {
                    // The manager offers a token Pitchly has already refused: subscribing with it would only repeat that.
                    throw RejectedRepeatedly(subscription, rejections.Rejections, GraphQLWsProtocol.CloseCode.Forbidden);
                }

                mustRefresh = null;
                _metrics.SubscriptionResubscribes.Add(1);
            }

            var result = await ConnectAndStreamAsync(subscription, endpoint, token.Value, options, events, stop);
            var progress = result.Progress;
            if (progress.Acknowledged && (progress.DeliveredEvent || progress.Uptime >= options.MaxReconnectDelay))
            {
                failedAttempts = 0;
            }

            // A connection acknowledged and not then rejected right away served with its token: the key's count of
            // rejected tokens starts again. An acknowledgement alone is not enough, or an endpoint that acknowledges and
            // then closes with 4403 would reset the count on every socket.
            var rejectedRightAway = result.End == ConnectionEnd.TokenRejected && RejectedRightAway(progress, token, options);
            if (progress.Acknowledged && !rejectedRightAway)
            {
                _breaker.OnSucceeded(key);
            }

            switch (result.End)
            {
                case ConnectionEnd.Completed:
                    SubscriptionLog.Completed(_logger, subscription.Id, key);
                    return;
                case ConnectionEnd.Stopped:
                    stop.ThrowIfCancellationRequested();
                    return;
                case ConnectionEnd.TokenRejected:
                    // A token that served a while, or reached its expiry, starts a new run: a quiet subscription crosses
                    // any number of expiries.
                    if (rejections is null || !rejectedRightAway)
                    {
                        rejections = new ReplaySequence(_time, _tokenManagementOptions.CurrentValue.RefreshTimeout, MaxRejectionsInARow);
                    }

                    // Checked before refreshing: a run that is over spends no refresh token. The breaker counts the
                    // key's rejected tokens across every subscription and HTTP call, so subscribing again after a run
                    // ended does not start a fresh budget; at its limit it throws instead of allowing the refresh.
                    rejections.Rejected(token.Value);
                    _breaker.OnRejected(key, token.Value);
                    if (!rejections.HasRoom)
                    {
                        throw RejectedRepeatedly(subscription, rejections.Rejections, result.CloseStatus);
                    }

                    SubscriptionLog.TokenRejected(_logger, key, subscription.Id, result.CloseStatus);
                    mustRefresh = token.Value;
                    continue;
                default:
                    if (progress.DeliveredEvent)
                    {
                        // Served: whatever is rejected next starts a new run.
                        rejections = null;
                    }

                    failedAttempts = await BackOffAsync(subscription, options, failedAttempts, result.Reason, result.CloseStatus, result.Failure, stop);
                    continue;
            }
        }
    }

    /// <summary>
    /// "Right away": no event, and either no acknowledgement or one shortly before the rejection of a token that was not
    /// about to expire.
    /// </summary>
    private bool RejectedRightAway(ConnectionProgress progress, PitchlyAccessToken token, PitchlySubscriptionClientOptions options)
    {
        var expired = _time.GetUtcNow() >= token.ExpiresAt - ExpiryTolerance;
        return !progress.DeliveredEvent && (!progress.Acknowledged || (progress.Uptime < options.ConnectionTimeout && !expired));
    }

    /// <summary>One connection with <paramref name="accessToken"/>: connect, and once acknowledged, stream until it ends.</summary>
    private async Task<ConnectionResult> ConnectAndStreamAsync<TData>(
        SubscriptionRequest<TData> subscription,
        Uri endpoint,
        string accessToken,
        PitchlySubscriptionClientOptions options,
        ChannelWriter<PitchlyGraphQLResponse<TData>> events,
        CancellationToken stop)
    {
        using var connection = new GraphQLWsConnection(subscription.Id, options, _time, stop);
        if (await connection.ConnectAsync(endpoint, accessToken) is { } notAcknowledged)
        {
            return notAcknowledged;
        }

        SubscriptionLog.Connected(_logger, subscription.Id, subscription.Key, endpoint);
        return await connection.StreamAsync(subscription, events);
    }

    /// <summary>Counts a failed attempt, gives up past the limit, otherwise waits a jittered exponential pause.</summary>
    private async Task<int> BackOffAsync<TData>(SubscriptionRequest<TData> subscription, PitchlySubscriptionClientOptions options, int failedAttempts, string reason, int? closeStatus, Exception? failure, CancellationToken stop)
    {
        failedAttempts++;
        if (failedAttempts > options.MaxReconnectAttempts)
        {
            var attempts = failedAttempts - 1;
            SubscriptionLog.GaveUp(_logger, subscription.Id, subscription.Key, attempts, failure);
            throw new PitchlySubscriptionReconnectException(
                $"The Pitchly subscription of {subscription.Key} lost its connection ({reason}{(closeStatus is null ? string.Empty : $", close {closeStatus}")}) and could not re-establish it after {attempts} attempts (Pitchly:Subscriptions:MaxReconnectAttempts). Subscribe again later.",
                attempts,
                closeStatus,
                failure);
        }

        var delay = ReconnectBackoff.Delay(failedAttempts, options.ReconnectDelay, options.MaxReconnectDelay);
        SubscriptionLog.Reconnecting(_logger, subscription.Id, subscription.Key, reason, closeStatus, delay, failedAttempts, options.MaxReconnectAttempts, failure);
        _metrics.SubscriptionReconnects.Add(1, new KeyValuePair<string, object?>("reason", reason));
        await Task.Delay(delay, _time, stop);
        return failedAttempts;
    }

    private PitchlySubscriptionException RejectedRepeatedly<TData>(SubscriptionRequest<TData> subscription, int rejections, int? closeStatus)
    {
        SubscriptionLog.RejectedRepeatedly(_logger, subscription.Key, subscription.Id, rejections, closeStatus);
        return new PitchlySubscriptionException(
            $"Pitchly kept rejecting the access tokens of {subscription.Key} on the subscription, freshly refreshed ones included ({rejections} rejections in a row with no event in between), so it was ended rather than refreshed in a loop. Check that the app is still installed and the subscription endpoint (Pitchly:Subscriptions:Endpoint) belongs to the token's platform.",
            closeStatus);
    }

    /// <summary>
    /// Ends a subscription whose enumerator was dropped undisposed (found by its finalizer): the pump is stopped on the
    /// thread pool, never on the finalizer thread, and the subscription leaves the active count once it has stopped.
    /// </summary>
    private sealed class AbandonmentOwner(PitchlySubscriptionClient client, string subscriptionId, PitchlyTokenKey key, CancellationTokenSource stop, Task pump)
    {
        ~AbandonmentOwner() => ThreadPool.UnsafeQueueUserWorkItem(static owner => _ = owner.EndAsync(), this, preferLocal: false);

        /// <summary>The enumerator ends the subscription itself: nothing to do when it is collected.</summary>
        public void Release() => GC.SuppressFinalize(this);

        private async Task EndAsync()
        {
            SubscriptionLog.Abandoned(client._logger, subscriptionId, key);
            try
            {
                await stop.CancelAsync();
                await pump;
            }
            catch (ObjectDisposedException)
            {
                // Ended meanwhile.
            }
            finally
            {
                stop.Dispose();
                client._metrics.ActiveSubscriptions.Add(-1);
            }
        }
    }
}

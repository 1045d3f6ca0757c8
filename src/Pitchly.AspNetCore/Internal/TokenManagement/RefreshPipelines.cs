using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// The two retry pipelines of a refresh, built once per options instance: the token endpoint retried only while no
/// connection could be made, and a write of issued tokens retried while the store cannot be reached.
/// </summary>
internal sealed partial class RefreshPipelines
{
    // How often freshly issued tokens are offered again to a token store that could not be reached.
    private static readonly TimeSpan StoreWriteRetryInterval = TimeSpan.FromMilliseconds(250);

    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private Built? _built;

    public RefreshPipelines(TimeProvider timeProvider, ILogger logger)
    {
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>
    /// Repeats a whole pass (lock → re-read → fence → request) when the token endpoint could not be reached: only a
    /// request that never reached Pitchly is repeated, and each attempt re-reads, so a retry never sends a refresh token
    /// that another holder has spent in the meantime.
    /// </summary>
    public ResiliencePipeline Refresh(PitchlyTokenManagementOptions options) => For(options).Refresh;

    /// <summary>Offers a write to the store again while it cannot be reached, for <see cref="PitchlyTokenManagementOptions.StoreWriteRetryTimeout"/>.</summary>
    public ResiliencePipeline StoreWrite(PitchlyTokenManagementOptions options) => For(options).StoreWrite;

    private Built For(PitchlyTokenManagementOptions options)
    {
        // Read and swapped as one reference: a caller never pairs one options instance's pipeline with another's.
        var cached = Volatile.Read(ref _built);
        if (cached is not null && ReferenceEquals(cached.Options, options))
        {
            return cached;
        }

        var refresh = BuildRetryPipeline(
            "Pitchly.TokenRefresh",
            new PredicateBuilder().Handle<PitchlyTokenEndpointException>(PitchlyTokenClient.IsConnectionNotEstablished),
            options.TokenEndpointRetryInterval,
            options.TokenEndpointRetryTimeout,
            arguments => Log.TokenEndpointUnreachable(_logger, arguments.AttemptNumber + 1, arguments.RetryDelay));
        var storeWrite = BuildRetryPipeline(
            "Pitchly.TokenStoreWrite",
            new PredicateBuilder().Handle<PitchlyTokenStoreUnavailableException>(),
            StoreWriteRetryInterval,
            options.StoreWriteRetryTimeout,
            arguments => Log.StoreWriteRetry(_logger, arguments.AttemptNumber + 1, arguments.Outcome.Exception));
        var built = new Built(options, refresh, storeWrite);
        Volatile.Write(ref _built, built);
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

    private sealed record Built(PitchlyTokenManagementOptions Options, ResiliencePipeline Refresh, ResiliencePipeline StoreWrite);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2007, EventName = "TokenEndpointUnreachable", Level = LogLevel.Warning, Message = "Pitchly's token endpoint could not be reached; attempt {Attempt} in {Delay}.")]
        public static partial void TokenEndpointUnreachable(ILogger logger, int attempt, TimeSpan delay);

        [LoggerMessage(EventId = 2010, EventName = "StoreWriteRetry", Level = LogLevel.Warning, Message = "The token store could not be reached to save newly issued Pitchly tokens; attempt {Attempt}, trying again.")]
        public static partial void StoreWriteRetry(ILogger logger, int attempt, Exception? exception);
    }
}

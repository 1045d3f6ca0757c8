using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Replay;

/// <summary>
/// The per-key guard against refresh loops. It counts the distinct access tokens of a key rejected in a row with no
/// call of that key succeeding in between; at <see cref="PitchlyTokenManagementOptions.RejectedTokenLimit"/> it pauses
/// refreshing that key for <see cref="PitchlyTokenManagementOptions.RejectedTokenCoolDown"/>, and after the pause allows
/// one more refresh before pausing again unless a call succeeds. Tokens Pitchly kills while calls keep succeeding never
/// add up, since every success clears the count; many calls rejected with the same token count once, and so does a
/// token rejected again later (calls still in flight with an old token after a success), since only tokens never seen
/// rejected before are counted.
/// </summary>
/// <remarks>
/// The success path is on every Pitchly call: while no key has ever been rejected it costs one volatile read, and for
/// a key that has, a lookup and another volatile read unless there is a count to clear.
/// </remarks>
internal sealed partial class RejectedTokenBreaker
{
    private readonly ConcurrentDictionary<PitchlyTokenKey, State> _states = new();
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger<RejectedTokenBreaker> _logger;
    private int _counted;

    public RejectedTokenBreaker(
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        TimeProvider timeProvider,
        PitchlyMetrics metrics,
        ILogger<RejectedTokenBreaker> logger)
    {
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Gets how long a call keeps replaying with newer tokens: the refresh timeout.</summary>
    public TimeSpan ReplayTimeout => _options.CurrentValue.RefreshTimeout;

    /// <summary>Fails fast while refreshing <paramref name="key"/> is paused.</summary>
    public void ThrowIfPaused(PitchlyTokenKey key)
    {
        if (Volatile.Read(ref _counted) == 0 || !_states.TryGetValue(key, out var state))
        {
            return;
        }

        lock (state)
        {
            if (state.PausedUntil > _timeProvider.GetUtcNow())
            {
                throw Paused(key, state);
            }
        }
    }

    /// <summary>A call of <paramref name="key"/> succeeded: its count starts again.</summary>
    public void OnSucceeded(PitchlyTokenKey key)
    {
        if (Volatile.Read(ref _counted) == 0 || !_states.TryGetValue(key, out var state) || Volatile.Read(ref state.Rejections) == 0)
        {
            return;
        }

        lock (state)
        {
            Volatile.Write(ref state.Rejections, 0);
        }
    }

    /// <summary>
    /// A call of <paramref name="key"/> was rejected with <paramref name="rejectedToken"/>; throws
    /// <see cref="PitchlyTokenRejectedException"/> instead of allowing another refresh once the limit is reached.
    /// </summary>
    public void OnRejected(PitchlyTokenKey key, string rejectedToken)
    {
        var state = _states.GetOrAdd(key, static _ => new State());
        if (state.Added.TrySetAdded())
        {
            Interlocked.Increment(ref _counted);
        }

        var options = _options.CurrentValue;
        lock (state)
        {
            var now = _timeProvider.GetUtcNow();
            if (state.PausedUntil > now)
            {
                throw Paused(key, state);
            }

            if (state.Remember(rejectedToken))
            {
                Volatile.Write(ref state.Rejections, state.Rejections + 1);
            }

            if (state.Rejections >= options.RejectedTokenLimit)
            {
                // One more refresh is allowed after the pause; if its token is rejected too, the pause starts again.
                Volatile.Write(ref state.Rejections, options.RejectedTokenLimit - 1);
                state.PausedUntil = now + options.RejectedTokenCoolDown;
                LogPaused(_logger, key, options.RejectedTokenLimit, state.PausedUntil);
                throw Paused(key, state);
            }
        }
    }

    private PitchlyTokenRejectedException Paused(PitchlyTokenKey key, State state)
    {
        _metrics.RefreshesPaused.Add(1);
        return new PitchlyTokenRejectedException(
            key,
            state.PausedUntil,
            $"Pitchly rejected {_options.CurrentValue.RejectedTokenLimit} freshly issued access tokens of {key} in a row with no call succeeding in between, "
            + $"so refreshing them is paused until {state.PausedUntil:O} (Pitchly:TokenManagement:RejectedTokenCoolDown). Something rejects every token: "
            + "a proxy or gateway answering 401, the app's access revoked in Pitchly, or a GraphQL endpoint of another environment.");
    }

    [LoggerMessage(EventId = 2019, Level = LogLevel.Error, Message = "Pitchly rejected {Limit} freshly issued access tokens of {Key} in a row with no call succeeding; refreshing is paused until {PausedUntil:O}.")]
    private static partial void LogPaused(ILogger logger, PitchlyTokenKey key, int limit, DateTimeOffset pausedUntil);

    private sealed class State
    {
        // Enough to recognise the old tokens that calls still in flight may hold.
        private const int Remembered = 64;
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

#pragma warning disable SA1401, CA1051 // Read without the lock on the success path.
        public int Rejections;
#pragma warning restore SA1401, CA1051

        public AddedFlag Added { get; } = new();

        public DateTimeOffset PausedUntil { get; set; }

        /// <summary>Remembers a rejected token; <see langword="true"/> when it was never seen rejected before.</summary>
        public bool Remember(string token)
        {
            if (!_seen.Add(token))
            {
                return false;
            }

            _order.Enqueue(token);
            if (_order.Count > Remembered)
            {
                _seen.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>Counts a state once, however many callers raced to add it.</summary>
    private sealed class AddedFlag
    {
        private int _added;

        public bool TrySetAdded() => Interlocked.Exchange(ref _added, 1) == 0;
    }
}

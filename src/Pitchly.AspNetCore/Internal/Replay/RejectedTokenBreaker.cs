using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
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
/// <para>
/// The success path is on every Pitchly call: while no key is tracked it costs one volatile read, and for a key that
/// is, a lookup and a removal (a success that is not paused drops the key's state).
/// </para>
/// <para>
/// Memory stays flat with population: a key has state only while it has rejections and no success since; a state
/// idle for <see cref="IdleAfter"/> (plus the cool-down) is swept by a timer, off every request path; and rejected
/// tokens are remembered, for all keys together, as a fixed number of 128-bit SHA-256 digests of key and token, never
/// the token itself (a dead bearer token is no longer in a memory dump).
/// </para>
/// </remarks>
internal sealed partial class RejectedTokenBreaker : IDisposable
{
    /// <summary>How long a key's state lives with no rejection, beyond the cool-down, before it is swept.</summary>
    internal static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(15);

    // How many rejected (key, token) digests are remembered, for all keys together: enough to recognise the old
    // tokens that calls still in flight may hold. 16 bytes each, so the memory is fixed whatever the population.
    private const int Remembered = 4096;

    // A key has a state while it is paused or was rejected in the last IdleAfter; success drops it, the sweep the rest.
    // The bucket array never shrinks, so once the sweep finds a quarter of the peak or less the map is replaced by a
    // right-sized copy (_shrinker; every change goes through its gate, never while holding it takes a state's lock).
    private ConcurrentDictionary<PitchlyTokenKey, State> _states = new();
    private readonly ShrinkGate _shrinker = new();

    // The digests of the last Remembered rejections, oldest first in _order: a fixed size, dequeued as new ones come.
    private readonly HashSet<UInt128> _seen = [];
    private readonly Queue<UInt128> _order = new();
    private readonly Lock _seenLock = new();
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger<RejectedTokenBreaker> _logger;
    private readonly LazySweepTimer _sweeper;
    private int _tracked;

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
        _sweeper = new LazySweepTimer(timeProvider, Sweep, static () => IdleAfter / 3);
    }

    /// <summary>Gets how long a call keeps replaying with newer tokens: the refresh timeout.</summary>
    public TimeSpan ReplayTimeout => _options.CurrentValue.RefreshTimeout;

    /// <summary>Gets how many keys have state: those rejected with no success since, not yet swept.</summary>
    public int TrackedKeys => Volatile.Read(ref _tracked);

    /// <summary>Gets the gate that guards changes to the states against the sweep's swap (for tests).</summary>
    internal ShrinkGate Shrinker => _shrinker;

    /// <summary>Fails fast while refreshing <paramref name="key"/> is paused.</summary>
    public void ThrowIfPaused(PitchlyTokenKey key)
    {
        if (Volatile.Read(ref _tracked) == 0 || !_states.TryGetValue(key, out var state))
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

    /// <summary>A call of <paramref name="key"/> succeeded: its count starts again, and its state goes unless paused.</summary>
    public void OnSucceeded(PitchlyTokenKey key)
    {
        if (Volatile.Read(ref _tracked) == 0 || !_states.TryGetValue(key, out var state))
        {
            return;
        }

        lock (state)
        {
            // A pause keeps its state until it ends (the sweep takes it then, or the next success).
            if (state.Removed || state.PausedUntil > _timeProvider.GetUtcNow())
            {
                state.Rejections = 0;
                return;
            }

            Remove(key, state);
        }
    }

    /// <summary>
    /// A call of <paramref name="key"/> was rejected with <paramref name="rejectedToken"/>; throws
    /// <see cref="PitchlyTokenRejectedException"/> instead of allowing another refresh once the limit is reached.
    /// </summary>
    public void OnRejected(PitchlyTokenKey key, string rejectedToken)
    {
        var isNew = Remember(key, rejectedToken);
        var options = _options.CurrentValue;
        while (true)
        {
            var state = GetOrAdd(key);
            lock (state)
            {
                if (state.Removed)
                {
                    // A success or the sweep took it meanwhile: count on the key's new state.
                    continue;
                }

                var now = _timeProvider.GetUtcNow();
                state.LastRejected = now;
                if (state.PausedUntil > now)
                {
                    throw Paused(key, state);
                }

                if (isNew)
                {
                    state.Rejections++;
                }

                if (state.Rejections >= options.RejectedTokenLimit)
                {
                    // One more refresh is allowed after the pause; if its token is rejected too, the pause starts again.
                    state.Rejections = options.RejectedTokenLimit - 1;
                    state.PausedUntil = now + options.RejectedTokenCoolDown;
                    LogPaused(_logger, key, options.RejectedTokenLimit, state.PausedUntil);
                    throw Paused(key, state);
                }

                return;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _sweeper.Dispose();

    /// <summary>
    /// Drops every state neither paused nor rejected within <see cref="IdleAfter"/> plus the cool-down. Runs on the
    /// sweep timer, never on a request path; its cost is one pass over the tracked keys, which are only those
    /// rejected with no success since, at most once per sweep interval.
    /// </summary>
    internal void Sweep()
    {
        var now = _timeProvider.GetUtcNow();
        var idleSince = now - IdleAfter - _options.CurrentValue.RejectedTokenCoolDown;
        foreach (var (key, state) in _states)
        {
            lock (state)
            {
                if (!state.Removed && state.PausedUntil <= now && state.LastRejected <= idleSince)
                {
                    Remove(key, state);
                }
            }
        }

        // States are copied by reference, so their locks and Removed marks carry over (see ShrinkGate).
        _shrinker.TryShrink(TrackedKeys, () => Volatile.Write(ref _states, ShrinkGate.Copy(_states)));
    }

    private static UInt128 Digest(PitchlyTokenKey key, string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key.Value + "\n" + token), hash);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    /// <summary>Remembers a rejected token of a key; <see langword="true"/> when it was not seen rejected recently.</summary>
    private bool Remember(PitchlyTokenKey key, string token)
    {
        var digest = Digest(key, token);
        lock (_seenLock)
        {
            if (!_seen.Add(digest))
            {
                return false;
            }

            _order.Enqueue(digest);
            if (_order.Count > Remembered)
            {
                _seen.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    private State GetOrAdd(PitchlyTokenKey key)
    {
        while (true)
        {
            if (_states.TryGetValue(key, out var state))
            {
                return state;
            }

            state = new State();
            int tracked;
            _shrinker.EnterWrite();
            try
            {
                tracked = _states.TryAdd(key, state) ? Interlocked.Increment(ref _tracked) : 0;
            }
            finally
            {
                _shrinker.ExitWrite();
            }

            if (tracked > 0)
            {
                _shrinker.NoteCount(tracked);
                _sweeper.Start(); // With the first tracked key: none runs in an app never rejected.
                return state;
            }
        }
    }

    /// <summary>Removes a state; called under its lock.</summary>
    private void Remove(PitchlyTokenKey key, State state)
    {
        state.Removed = true;
        _shrinker.EnterWrite();
        try
        {
            if (_states.TryRemove(new KeyValuePair<PitchlyTokenKey, State>(key, state)))
            {
                Interlocked.Decrement(ref _tracked);
            }
        }
        finally
        {
            _shrinker.ExitWrite();
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

    /// <summary>A key's rejections with no success since; read and written under its lock.</summary>
    private sealed class State
    {
        public int Rejections { get; set; }

        public DateTimeOffset PausedUntil { get; set; }

        public DateTimeOffset LastRejected { get; set; }

        /// <summary>Gets or sets a value indicating whether the state left the map; a rejection then counts on a new one.</summary>
        public bool Removed { get; set; }
    }
}

namespace Pitchly.AspNetCore.Internal.Replay;

/// <summary>
/// The replay rule for one call (an HTTP request, a subscription's run of rejections, a sign-in's identity query): a
/// call rejected for its token is refreshed with the rejected token and replayed; it is replayed again while each
/// replay carries a token strictly newer than the ones already rejected, within a timeout counted from the first
/// rejection, and at most <c>maxRejections</c> times where the caller bounds it. When Pitchly kills a token every call
/// holding it fails at once, and some replays meet the next kill: they must reach the next token, not fail. Across
/// calls, <see cref="RejectedTokenBreaker"/> keeps a key whose fresh tokens are all rejected from rotating in a loop.
/// </summary>
/// <remarks>Made on the slow path only, once a call was rejected; one caller at a time.</remarks>
internal sealed class ReplaySequence
{
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly TimeSpan _timeout;
    private readonly int _maxRejections;

    // Rejected tokens are few (one per kill met); a list beats a set at that size.
    private readonly List<string> _rejected = new(2);

    /// <summary>Starts the sequence at the call's first rejection.</summary>
    /// <param name="time">The clock the timeout runs on.</param>
    /// <param name="timeout">How long replays go on after the first rejection; <see cref="Timeout.InfiniteTimeSpan"/> when only <paramref name="maxRejections"/> bounds them.</param>
    /// <param name="maxRejections">How many rejections end the sequence; unbounded for callers that rely on the breaker.</param>
    public ReplaySequence(TimeProvider time, TimeSpan timeout, int maxRejections = int.MaxValue)
    {
        _time = time;
        _startedAt = time.GetTimestamp();
        _timeout = timeout;
        _maxRejections = maxRejections;
    }

    /// <summary>Gets how many distinct attempts of the call were rejected.</summary>
    public int Rejections => _rejected.Count;

    /// <summary>Gets whether the call may still be refreshed and tried again: fewer rejections than the bound, and time left.</summary>
    public bool HasRoom => _rejected.Count < _maxRejections
        && (_timeout == Timeout.InfiniteTimeSpan || _time.GetElapsedTime(_startedAt) < _timeout);

    /// <summary>Records that an attempt of the call was rejected with <paramref name="token"/>.</summary>
    public void Rejected(string token) => _rejected.Add(token);

    /// <summary>Tells whether <paramref name="token"/> is newer than every token rejected so far, so trying it is not a repeat.</summary>
    public bool IsNewer(string token) => !_rejected.Contains(token);

    /// <summary>Tells whether the call is replayed with the refreshed <paramref name="token"/>: it is newer, and the sequence has room.</summary>
    public bool MayReplayWith(string token) => IsNewer(token) && HasRoom;
}

using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>What a load run measured on the client side.</summary>
public sealed class LoadResult
{
    private long _requests;
    private long _failed;

    /// <summary>Gets the number of calls sent.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Gets the number of calls that did not answer 200.</summary>
    public long FailedRequests => Interlocked.Read(ref _failed);

    /// <summary>Gets the latency of every call.</summary>
    public LatencyRecorder Latency { get; } = new();

    /// <summary>Gets the latency of the calls that waited on a refresh of their user's tokens.</summary>
    public LatencyRecorder RefreshWaitLatency { get; } = new();

    /// <summary>Gets, for the calls that waited on a refresh, how long the instance's token manager held them (the instance's own measure).</summary>
    public LatencyRecorder RefreshWaitInInstance { get; } = new();

    /// <summary>
    /// Gets or sets whether calls' latencies are recorded (a warm-up sets it to <see langword="false"/>: its calls still
    /// count for requests, failures and rotations).
    /// </summary>
    public bool RecordLatencies { get; set; } = true;

    /// <summary>Gets the failed calls by <see cref="WorkOutcome.Describe"/>.</summary>
    public ConcurrentDictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets, per person, the distinct access-token fingerprints seen in successful calls.</summary>
    public ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> TokenGenerations { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Gets the rotations the clients saw: per user, the distinct access tokens used by successful calls, minus the
    /// first one, which came from sign-in.
    /// </summary>
    public long ObservedRotations => TokenGenerations.Values.Sum(tokens => (long)tokens.Count - 1);

    /// <summary>Counts the access token a user got at sign-in as the user's first generation.</summary>
    public void AddSignIn(StormUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var generations = TokenGenerations.GetOrAdd(user.PersonId, _ => new(StringComparer.Ordinal));
        if (user.SignInTokenFingerprint is { } fingerprint)
        {
            generations.TryAdd(fingerprint, 0);
        }
    }

    /// <summary>Adds one call's outcome.</summary>
    public void Add(StormUser user, WorkOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(outcome);
        Interlocked.Increment(ref _requests);
        if (RecordLatencies)
        {
            Latency.Record(outcome.Latency);
            if (outcome.WaitedOnRefresh)
            {
                RefreshWaitLatency.Record(outcome.Latency);
                if (outcome.RefreshWait is { } wait)
                {
                    RefreshWaitInInstance.Record(wait);
                }
            }
        }

        if (!outcome.Succeeded)
        {
            Interlocked.Increment(ref _failed);
            Failures.AddOrUpdate(outcome.Describe(), 1, (_, n) => n + 1);
        }
        else if (outcome.TokenFingerprint is { } fingerprint)
        {
            TokenGenerations.GetOrAdd(user.PersonId, _ => new(StringComparer.Ordinal)).TryAdd(fingerprint, 0);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Single flight per key: concurrent callers of one key share one refresh, started detached from all of them.
/// </summary>
internal sealed class RefreshFlight
{
    // One entry per key with a refresh running; the refresh removes it as it settles, so idle keys leave at once.
    private readonly ConcurrentDictionary<PitchlyTokenKey, Task<PitchlyAccessToken>> _inFlight = new();
    private readonly Func<SharedRefresh, ActivityContext?, Task> _run;

    /// <param name="run">Runs one shared refresh to its end; it must settle the refresh whatever happens.</param>
    /// <param name="backoff">Told of every refresh's end, so renewals of a key whose refresh failed wait.</param>
    public RefreshFlight(Func<SharedRefresh, ActivityContext?, Task> run, RenewalBackoff? backoff = null)
    {
        _run = run;
        Backoff = backoff;
    }

    /// <summary>Gets the per-key backoff told of every refresh's end, if any.</summary>
    public RenewalBackoff? Backoff { get; }

    /// <summary>The refresh running for the request's key, or a new one started for <paramref name="request"/>.</summary>
    public Task<PitchlyAccessToken> StartOrJoin(RefreshRequest request)
    {
        if (_inFlight.TryGetValue(request.Key, out var running))
        {
            return running;
        }

        var refresh = new SharedRefresh(request, this);
        var shared = _inFlight.GetOrAdd(request.Key, refresh.Task);
        if (shared != refresh.Task)
        {
            return shared;
        }

        ObserveFailure(refresh.Task);

        // The shared refresh belongs to no caller: it must not run in the first caller's ExecutionContext (its
        // HttpContext, logging scopes, ambient Activity and AsyncLocals). Its span links to the caller's instead.
        var caller = Activity.Current?.Context;
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => _run(refresh, caller));
        }

        return refresh.Task;
    }

    /// <summary>Whether a refresh of <paramref name="key"/> is running (it leaves the flight as it settles).</summary>
    public bool IsRunning(PitchlyTokenKey key) => _inFlight.ContainsKey(key);

    /// <summary>Removes <paramref name="refresh"/> from the flight if it is still the key's current one.</summary>
    public void Leave(PitchlyTokenKey key, Task<PitchlyAccessToken> refresh)
        => _inFlight.TryRemove(new KeyValuePair<PitchlyTokenKey, Task<PitchlyAccessToken>>(key, refresh));

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
}

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// A test-only place in the instance where it freezes itself with a real <c>SIGSTOP</c> once, so a test can hold a
/// process at an exact point of a refresh (a signal sent from outside lands wherever the process happens to be) and
/// let it run on with <c>SIGCONT</c> when it chooses. Off unless <see cref="StormFreeze.AfterFenceKey"/> is true.
/// </summary>
internal sealed class FreezePoint(bool enabled)
{
    private int _armed = enabled ? 1 : 0;

    /// <summary>Stops this process the first time it is reached, after saying where on standard output.</summary>
    public void Reach(string where)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            Console.Out.WriteLine(StormFreeze.FrozenPrefix + where);
            Console.Out.Flush();
            Signals.StopSelf();
        }
    }
}

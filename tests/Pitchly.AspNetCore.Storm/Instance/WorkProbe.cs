namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// What one <c>/work</c> call went through, flowed by <see cref="AsyncLocal{T}"/>: the token its GraphQL request carried
/// (filled by <see cref="ProbeHandler"/>) and the refreshes it waited for (filled by <see cref="RefreshWaitListener"/>).
/// </summary>
internal sealed class WorkProbe
{
    private static readonly AsyncLocal<WorkProbe?> CurrentProbe = new();
    private int _refreshWaits;
    private double _refreshWaitMilliseconds;

    private WorkProbe()
    {
    }

    public static WorkProbe? Current => CurrentProbe.Value;

    public string? TokenFingerprint { get; set; }

    /// <summary>Gets how many times the token manager made this call wait for a refresh (a renewal, or before a replay).</summary>
    public int RefreshWaits => Volatile.Read(ref _refreshWaits);

    /// <summary>Gets the total time the token manager made this call wait for refreshes, in milliseconds.</summary>
    public double RefreshWaitMilliseconds
    {
        get
        {
            lock (this)
            {
                return _refreshWaitMilliseconds;
            }
        }
    }

    public static WorkProbe Start()
    {
        var probe = new WorkProbe();
        CurrentProbe.Value = probe;
        return probe;
    }

    public void OnRefreshWait(double milliseconds)
    {
        Interlocked.Increment(ref _refreshWaits);
        lock (this)
        {
            _refreshWaitMilliseconds += milliseconds;
        }
    }
}

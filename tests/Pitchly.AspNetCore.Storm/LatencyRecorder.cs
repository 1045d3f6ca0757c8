namespace Pitchly.AspNetCore.Storm;

/// <summary>Collects request latencies from many threads and answers percentiles (nearest rank) over all of them.</summary>
public sealed class LatencyRecorder
{
    private readonly List<double> _milliseconds = [];
    private readonly Lock _gate = new();

    /// <summary>Gets the number of recorded latencies.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _milliseconds.Count;
            }
        }
    }

    /// <summary>Records one latency.</summary>
    public void Record(TimeSpan latency)
    {
        lock (_gate)
        {
            _milliseconds.Add(latency.TotalMilliseconds);
        }
    }

    /// <summary>Gets the <paramref name="percentile"/> (0–100) in milliseconds, or 0 when nothing was recorded.</summary>
    public double Percentile(double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        double[] sorted;
        lock (_gate)
        {
            sorted = [.. _milliseconds];
        }

        if (sorted.Length == 0)
        {
            return 0;
        }

        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

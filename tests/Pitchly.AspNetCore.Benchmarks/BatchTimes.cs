using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The per-call times of one row's batches in an interleaved probe (<see cref="HandlerInterleaved"/>,
/// <see cref="PopulationInterleaved"/>): how a batch is timed, and the fastest batch, 10th percentile and median over all.
/// </summary>
internal sealed class BatchTimes(int batches)
{
    private readonly List<double> _times = new(batches);
    private bool _sorted;

    public double Min => Quantile(0);

    public double P10 => Quantile(0.1);

    public double Median => Quantile(0.5);

    /// <summary>Makes <paramref name="calls"/> calls; returns the mean time of one, in nanoseconds.</summary>
    public static double Measure(Action call, int calls)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            call();
        }

        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
    }

    /// <summary>Times a batch of <paramref name="calls"/> calls and keeps its per-call time.</summary>
    public void AddBatch(Action call, int calls)
    {
        _times.Add(Measure(call, calls));
        _sorted = false;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"min {Min,7:F1}  p10 {P10,7:F1}  median {Median,7:F1} ns");

    private double Quantile(double quantile)
    {
        if (!_sorted)
        {
            _times.Sort();
            _sorted = true;
        }

        return _times[(int)(quantile * (_times.Count - 1))];
    }
}

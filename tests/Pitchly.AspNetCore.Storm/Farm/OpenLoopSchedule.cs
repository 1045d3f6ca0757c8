namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>How an open-loop run (<see cref="LoadGenerator.RunOpenLoopAsync"/>) kept to its schedule.</summary>
public sealed class OpenLoopSchedule
{
    private long _started;
    private long _late;

    internal OpenLoopSchedule(double targetRate) => TargetRate = targetRate;

    /// <summary>Gets the calls per second the schedule asked for.</summary>
    public double TargetRate { get; }

    /// <summary>Gets the number of calls started.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Gets the number of calls sent more than <see cref="LoadGenerator.LateThreshold"/> after they were due.</summary>
    public long LateStarts => Interlocked.Read(ref _late);

    /// <summary>Gets, per call, how long after its due time it was sent.</summary>
    public LatencyRecorder StartLag { get; } = new();

    /// <summary>Gets the time from the first due time to the last call's start.</summary>
    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Gets the calls started per second (<see cref="Started"/> over <see cref="Elapsed"/>).</summary>
    public double AchievedRate => Elapsed > TimeSpan.Zero ? Started / Elapsed.TotalSeconds : 0;

    /// <summary>Gets whether the machine kept up: no more than 1 % of the calls started late.</summary>
    public bool KeptUp => LateStarts <= Started / 100;

    internal void RecordStart(TimeSpan lag)
    {
        Interlocked.Increment(ref _started);
        StartLag.Record(lag);
        if (lag > LoadGenerator.LateThreshold)
        {
            Interlocked.Increment(ref _late);
        }
    }
}

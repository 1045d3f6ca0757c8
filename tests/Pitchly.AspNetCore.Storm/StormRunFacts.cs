namespace Pitchly.AspNetCore.Storm;

/// <summary>What the driver knows of a run besides the calls' outcomes, for <see cref="StormSummary"/>.</summary>
public sealed record StormRunFacts
{
    /// <summary>Gets how long the emulator's token endpoint took to answer (<c>--token-latency-ms</c>).</summary>
    public TimeSpan TokenLatency { get; init; }

    /// <summary>Gets how long the instances' token requests took during the load (the endpoint's latency plus the round trip).</summary>
    public LatencyRecorder TokenRequests { get; init; } = new();

    /// <summary>Gets how an open-loop run (<c>--rate</c>) kept to its schedule; <see langword="null"/> for a closed-loop run.</summary>
    public OpenLoopSchedule? Schedule { get; init; }

    /// <summary>Gets how long the load phase took (calls started and finished).</summary>
    public TimeSpan LoadElapsed { get; init; }

    /// <summary>Gets the CPU the driver and the farm's processes used during the load, in percent of the whole machine.</summary>
    public double CpuPercent { get; init; }

    /// <summary>Gets how many failovers of the Redis Sentinel group were forced during the load (<c>--failover-every-seconds</c>).</summary>
    public int Failovers { get; init; }

    /// <summary>Gets the CPU the whole machine used during the load (everything running on it), in percent.</summary>
    public double MachineCpuPercent { get; init; }
}

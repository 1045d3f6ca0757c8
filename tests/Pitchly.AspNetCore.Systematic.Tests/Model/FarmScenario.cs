namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>What one schedule of the farm model runs: its instances and callers, and which faults it may inject.</summary>
internal sealed record FarmScenario
{
    public string Name { get; init; } = "farm";

    public int Instances { get; init; } = 3;

    public int CallersPerInstance { get; init; } = 1;

    public int CallsPerCaller { get; init; } = 2;

    /// <summary>The real in-memory store shared by the instances, or the model of the Redis store's scripts.</summary>
    public bool ScriptedStore { get; init; }

    /// <summary>How many times per schedule an instance may freeze (a SIGSTOP'd process) at one of its scheduling points.</summary>
    public int Freezes { get; init; }

    /// <summary>Whether a freeze may also fall after the send-deadline check, before the request reaches Pitchly.</summary>
    public bool FreezeInTransport { get; init; }

    /// <summary>Whether freezes fall only there (after the send-deadline check, before the request reaches Pitchly).</summary>
    public bool FreezeOnlyInTransport { get; init; }

    /// <summary>
    /// How many instances may crash per schedule, at one of their scheduling points: they stop for good, their lock
    /// lease and fence lapse, and tokens Pitchly issued to them and not yet stored are lost.
    /// </summary>
    public int Crashes { get; init; }

    /// <summary>
    /// How many outages of the store, each seen by one instance only, per schedule: for a span every store call of that
    /// instance fails with <see cref="PitchlyTokenStoreUnavailableException"/> (before or after it took effect) or
    /// stalls until the span ends.
    /// </summary>
    public int StoreOutages { get; init; }

    /// <summary>How many answers of the token endpoint may be lost after their grant took effect.</summary>
    public int LostAnswers { get; init; }

    public bool SlowAnswers { get; init; }

    public bool EarlyInvalidation { get; init; }

    public bool CancellingCallers { get; init; }

    /// <summary>How far an instance's wall clock may be ahead of the store's (scripted store only).</summary>
    public TimeSpan InstanceClockSkew { get; init; }

    public Breakage Breakage { get; init; }

    public override string ToString() => Name;
}

using Pitchly.AspNetCore.Storm.Orchestration;

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>One app instance of a <see cref="StormFarm"/>: a separate process serving <c>/login</c> and <c>/work</c>.</summary>
public sealed class StormInstance
{
    internal StormInstance(int number, Uri baseAddress, ChildProcess process)
    {
        Number = number;
        BaseAddress = baseAddress;
        Process = process;
    }

    /// <summary>Gets the instance's number, from 1.</summary>
    public int Number { get; }

    /// <summary>Gets the instance's address on 127.0.0.1.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the instance's process.</summary>
    public ChildProcess Process { get; }

    /// <inheritdoc />
    public override string ToString() => $"instance {Number} ({BaseAddress}, pid {Process.Id})";
}

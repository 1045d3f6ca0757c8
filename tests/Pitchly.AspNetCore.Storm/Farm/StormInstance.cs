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

    /// <summary>Freezes the instance's process with <c>SIGSTOP</c>: every thread stops where it is, sockets stay open.</summary>
    public void Freeze() => Signals.Stop(Process.Id);

    /// <summary>Lets the frozen process run on (<c>SIGCONT</c>).</summary>
    public void Thaw() => Signals.Continue(Process.Id);

    /// <summary>Gets whether the process is stopped by a signal.</summary>
    public bool IsFrozen => Signals.IsStopped(Process.Id);

    /// <inheritdoc />
    public override string ToString() => $"instance {Number} ({BaseAddress}, pid {Process.Id})";
}

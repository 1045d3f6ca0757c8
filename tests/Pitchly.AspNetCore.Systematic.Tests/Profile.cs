using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Systematic.Tests;

/// <summary>
/// PITCHLY_SYSTEMATIC_PROFILE=N: every N schedules, prints to stderr where the time of those schedules went: wall
/// clock, the process's CPU time, methods the JIT compiled and its time, garbage collections and the process's threads.
/// </summary>
internal sealed class Profile
{
    private readonly int _every;
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private TimeSpan _lastWall;
    private TimeSpan _lastCpu;
    private long _lastJitted;
    private TimeSpan _lastJitTime;
    private int _lastGcs;

    private Profile(int every)
    {
        _every = every;
        _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
        _lastJitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        _lastJitTime = System.Runtime.JitInfo.GetCompilationTime();
        _lastGcs = GC.CollectionCount(0);
    }

    public static Profile? Start()
        => int.TryParse(Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_PROFILE"), CultureInfo.InvariantCulture, out var every) && every > 0 ? new Profile(every) : null;

    public void EndOfSchedule(uint iteration)
    {
        if ((iteration + 1) % _every != 0)
        {
            return;
        }

        using var process = Process.GetCurrentProcess();
        var wall = _wall.Elapsed;
        var cpu = process.TotalProcessorTime;
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTime = System.Runtime.JitInfo.GetCompilationTime();
        var gcs = GC.CollectionCount(0);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[profile] schedules {iteration + 1 - _every + 1}-{iteration + 1}: wall {(wall - _lastWall).TotalMilliseconds / _every:0.0} ms, cpu {(cpu - _lastCpu).TotalMilliseconds / _every:0.0} ms, jit {(jitted - _lastJitted) / (double)_every:0.0} methods {(jitTime - _lastJitTime).TotalMilliseconds / _every:0.0} ms, gen0 gcs {gcs - _lastGcs}, threads {process.Threads.Count} per schedule"));
        (_lastWall, _lastCpu, _lastJitted, _lastJitTime, _lastGcs) = (wall, cpu, jitted, jitTime, gcs);
    }
}

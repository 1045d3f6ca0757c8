using System.Runtime.InteropServices;

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// Real POSIX job-control signals: <c>SIGSTOP</c> freezes every thread of a process at whatever instruction it is on
/// (it cannot be caught or ignored), <c>SIGCONT</c> lets it run on. What a stop-the-world GC pause, a VM migration or
/// a debugger does to a lock holder, on purpose.
/// </summary>
public static class Signals
{
    // The Linux numbers (x86-64 and arm64); the harness runs on Linux only.
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>Freezes the process <paramref name="processId"/> (<c>SIGSTOP</c>).</summary>
    public static void Stop(int processId) => Send(processId, SigStop, "SIGSTOP");

    /// <summary>Lets the frozen process <paramref name="processId"/> run on (<c>SIGCONT</c>).</summary>
    public static void Continue(int processId) => Send(processId, SigCont, "SIGCONT");

    /// <summary>
    /// Freezes the calling process itself; returns once another process sent it <c>SIGCONT</c>. The signal is sent to
    /// the calling thread (<c>raise(3)</c>, a <c>tgkill</c>), not to the process: a process-directed <c>kill(2)</c> is
    /// taken by whichever thread the kernel picks (usually the main thread), and until that thread is scheduled the
    /// caller runs on, so under load it could send a token request "after" its freeze point. A stop signal stops the
    /// whole process however it is delivered; sent to the caller, it stops the caller before <c>raise</c> returns.
    /// </summary>
    public static void StopSelf()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("SIGSTOP is sent through Linux's raise(3); this harness runs on Linux.");
        }

        if (Raise(SigStop) != 0)
        {
            throw new InvalidOperationException($"raise(SIGSTOP) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>Gets whether the process is stopped by a signal (state <c>T</c> in <c>/proc/PID/stat</c>).</summary>
    public static bool IsStopped(int processId)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/stat"));
        }
        catch (IOException)
        {
            return false;
        }

        // "pid (comm) S …": the command may contain spaces and parentheses, the state follows the last ')'.
        var end = stat.LastIndexOf(')');
        return end > 0 && end + 2 < stat.Length && stat[end + 2] is 'T' or 't';
    }

    private static void Send(int processId, int signal, string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"{name} is sent through Linux's kill(2); this harness runs on Linux.");
        }

        if (Kill(processId, signal) != 0)
        {
            throw new InvalidOperationException($"kill({processId}, {name}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    // Blittable arguments only, so no marshalling code (and no unsafe code) is needed.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int processId, int signal);

    [DllImport("libc", EntryPoint = "raise", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Raise(int signal);
}

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// Ends a child process when the harness that started it is gone (killed with SIGKILL, so it could not clean up), so
/// no instance or emulator outlives a run.
/// </summary>
public static class ParentWatch
{
    /// <summary>Starts watching the process given by <c>--parent-pid</c>, if any.</summary>
    public static void Start(CommandLine commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        if (commandLine.Integer("parent-pid", 0, 0, int.MaxValue) is not (> 0 and var parentId))
        {
            return;
        }

        var thread = new Thread(() =>
        {
            while (IsAlive(parentId))
            {
                Thread.Sleep(1000);
            }

            Console.Error.WriteLine($"The harness (pid {parentId}) is gone; exiting.");
            Environment.Exit(3);
        })
        {
            IsBackground = true,
            Name = "parent watch",
        };
        thread.Start();
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

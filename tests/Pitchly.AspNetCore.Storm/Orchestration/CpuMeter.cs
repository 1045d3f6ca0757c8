namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// Measures CPU time from <c>/proc</c> between <see cref="Start"/> and <see cref="Stop"/>: of a set of processes (the
/// farm and the driver) and of the whole machine, each as a percentage of the machine's capacity (every core busy for
/// the whole interval is 100). The machine figure includes whatever else runs on it.
/// </summary>
public sealed class CpuMeter
{
    private readonly IReadOnlyList<int> _processIds;
    private readonly long _processTicks;
    private readonly (long Busy, long Total) _machine;

    private CpuMeter(IReadOnlyList<int> processIds)
    {
        _processIds = processIds;
        _processTicks = ProcessTicks(processIds);
        _machine = MachineTicks();
    }

    /// <summary>Starts measuring <paramref name="processIds"/> and the machine.</summary>
    public static CpuMeter Start(IEnumerable<int> processIds) => new([.. processIds]);

    /// <summary>Gets (processes, machine) CPU use since <see cref="Start"/>, in percent of the machine; (0, 0) where /proc is absent.</summary>
    public (double Processes, double Machine) Stop()
    {
        var machine = MachineTicks();
        var total = machine.Total - _machine.Total;
        if (total <= 0)
        {
            return (0, 0);
        }

        // /proc/PID/stat and /proc/stat count in the same clock ticks (USER_HZ).
        return (100.0 * (ProcessTicks(_processIds) - _processTicks) / total, 100.0 * (machine.Busy - _machine.Busy) / total);
    }

    private static long ProcessTicks(IEnumerable<int> processIds)
    {
        long ticks = 0;
        foreach (var id in processIds)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{id}/stat");
                // The fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process is gone (or /proc is absent): it counts nothing from here on.
            }
        }

        return ticks;
    }

    private static (long Busy, long Total) MachineTicks()
    {
        try
        {
            var cpu = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var values = cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
            var total = values.Take(8).Sum();
            return (total - values[3] - values[4], total);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }
}

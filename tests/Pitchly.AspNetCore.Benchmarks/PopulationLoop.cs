using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// One <see cref="PopulationBenchmarks"/> row at one population, called in a loop for a fixed time after set-up, for a
/// profiler or hardware counters attached to the process (<c>perf stat -p</c>): it prints <c>measuring pid N</c> when the
/// loop starts, then the calls made and the mean time per call. Counts per call (cycles, cache and TLB misses) vary less
/// with the machine's load than times do.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --population-loop InMemoryStoreManager|InMemoryStoreManagerColdKey|RedisL1Manager|RedisL1ManagerColdKey|InMemoryStoreGet|RedisL1Get users seconds</c>.
/// </remarks>
internal static class PopulationLoop
{
    public static async Task RunAsync(string[] args)
    {
        var row = args.Length > 0 ? args[0] : "InMemoryStoreManager";
        var users = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var benchmarks = new PopulationBenchmarks { Users = users };
        await (row.StartsWith("Redis", StringComparison.Ordinal) ? benchmarks.SetupRedisAsync() : benchmarks.SetupInMemoryAsync());
        try
        {
            Action call = row switch
            {
                "InMemoryStoreGet" => () => benchmarks.InMemoryStoreGet(),
                "InMemoryStoreManager" => () => benchmarks.InMemoryStoreManager(),
                "InMemoryStoreManagerColdKey" => () => benchmarks.InMemoryStoreManagerColdKey(),
                "RedisL1Get" => () => benchmarks.RedisL1Get(),
                "RedisL1ManagerColdKey" => () => benchmarks.RedisL1ManagerColdKey(),
                _ => () => benchmarks.RedisL1Manager(),
            };

            // Three passes over the keys first, as the benchmark's warm-up would.
            BatchTimes.Measure(call, 3 * users);
            GC.Collect();
            Console.WriteLine($"measuring pid {Environment.ProcessId}");
            var calls = 0L;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                BatchTimes.Measure(call, 10_000);
                calls += 10_000;
            }

            var elapsed = clock.Elapsed;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row} {users:N0} users: {calls:N0} calls in {elapsed.TotalSeconds:F1} s, {elapsed.TotalNanoseconds / calls:F1} ns a call"));
        }
        finally
        {
            await benchmarks.CleanupAsync();
        }
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The <see cref="PopulationBenchmarks"/> rows of one store at 1,000 and 100,000 users, measured in alternating batches
/// in one process: on a shared machine, whatever load comes and goes falls on both populations alike, so their ratio
/// means something where two BenchmarkDotNet cases minutes apart do not. Prints, per row and population, the fastest
/// batch, the 10th percentile and the median of the per-call time over all batches.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --population-interleaved InMemory|Redis [batches]</c>.
/// Each batch is 10,000 calls (a tenth of a pass at 100,000 users); before each 1,000-user batch, 2,000 unmeasured
/// calls bring that population's working set back into the CPU's caches, as a steady run would have it.
/// </remarks>
internal static class PopulationInterleaved
{
    private const int Batch = 10_000;

    public static async Task RunAsync(string[] args)
    {
        var store = args.Length > 0 ? args[0] : "InMemory";
        var batches = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000;
        var small = await CreateAsync(store, 1_000);
        var large = await CreateAsync(store, 100_000);
        try
        {
            foreach (var row in store == "Redis" ? new[] { "RedisL1Get", "RedisL1Manager" } : ["InMemoryStoreGet", "InMemoryStoreManager"])
            {
                Action smallCall = Call(small, row), largeCall = Call(large, row);
                Measure(smallCall, 200_000);
                Measure(largeCall, 300_000);
                var smallTimes = new List<double>(batches);
                var largeTimes = new List<double>(batches);
                for (var batch = 0; batch < batches; batch++)
                {
                    Measure(smallCall, 2_000);
                    smallTimes.Add(Measure(smallCall, Batch));
                    largeTimes.Add(Measure(largeCall, Batch));
                }

                smallTimes.Sort();
                largeTimes.Sort();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{row,-21} 1,000: min {smallTimes[0],6:F1} p10 {Percentile(smallTimes, 0.1),6:F1} median {Percentile(smallTimes, 0.5),6:F1} ns | 100,000: min {largeTimes[0],6:F1} p10 {Percentile(largeTimes, 0.1),6:F1} median {Percentile(largeTimes, 0.5),6:F1} ns | ratio min {largeTimes[0] / smallTimes[0]:F2} p10 {Percentile(largeTimes, 0.1) / Percentile(smallTimes, 0.1):F2} median {Percentile(largeTimes, 0.5) / Percentile(smallTimes, 0.5):F2}"));
            }
        }
        finally
        {
            await small.CleanupAsync();
            await large.CleanupAsync();
        }
    }

    private static async Task<PopulationBenchmarks> CreateAsync(string store, int users)
    {
        var benchmarks = new PopulationBenchmarks { Users = users };
        await (store == "Redis" ? benchmarks.SetupRedisAsync() : benchmarks.SetupInMemoryAsync());
        return benchmarks;
    }

    private static Action Call(PopulationBenchmarks benchmarks, string row) => row switch
    {
        "InMemoryStoreGet" => () => benchmarks.InMemoryStoreGet(),
        "InMemoryStoreManager" => () => benchmarks.InMemoryStoreManager(),
        "RedisL1Get" => () => benchmarks.RedisL1Get(),
        _ => () => benchmarks.RedisL1Manager(),
    };

    /// <summary>Makes <paramref name="calls"/> calls; returns the mean time of one, in nanoseconds.</summary>
    private static double Measure(Action call, int calls)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            call();
        }

        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
    }

    private static double Percentile(List<double> sorted, double quantile) => sorted[(int)(quantile * (sorted.Count - 1))];
}

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
                BatchTimes.Measure(smallCall, 200_000);
                BatchTimes.Measure(largeCall, 300_000);
                var smallTimes = new BatchTimes(batches);
                var largeTimes = new BatchTimes(batches);
                for (var batch = 0; batch < batches; batch++)
                {
                    BatchTimes.Measure(smallCall, 2_000);
                    smallTimes.AddBatch(smallCall, Batch);
                    largeTimes.AddBatch(largeCall, Batch);
                }

                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{row,-21} 1,000: {smallTimes} | 100,000: {largeTimes} | ratio min {largeTimes.Min / smallTimes.Min:F2} p10 {largeTimes.P10 / smallTimes.P10:F2} median {largeTimes.Median / smallTimes.Median:F2}"));
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
}

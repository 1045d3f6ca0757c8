using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// A short job for the population benchmarks: one launch, three warm-up and five measured iterations of at least
/// 250 ms each (at a million users an iteration covers a good part of a pass over the keys), run in the host process
/// (no per-case build, which times out on a loaded machine), each case given up to 30 minutes (set-up included). The set-up (up to a million records written and read)
/// dominates the run, so the iterations are kept few.
/// </summary>
public sealed class PopulationJob : ManualConfig
{
    public PopulationJob() =>
        AddJob(Job.ShortRun
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(250))
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true))
            .WithId("Population"));
}

using BenchmarkDotNet.Running;
using Pitchly.AspNetCore.Benchmarks;

// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --filter '*'
// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --population-interleaved InMemory|Redis [batches]
if (args is ["--population-interleaved", .. var rest])
{
    await PopulationInterleaved.RunAsync(rest);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

using BenchmarkDotNet.Running;
using Pitchly.AspNetCore.Benchmarks;

// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --filter '*'
// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --population-interleaved InMemory|Redis [batches]
// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --handler-interleaved [batches]
// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --population-loop Row users seconds
if (args is ["--population-interleaved", .. var rest])
{
    await PopulationInterleaved.RunAsync(rest);
    return;
}

if (args is ["--population-loop", .. var loopArgs])
{
    await PopulationLoop.RunAsync(loopArgs);
    return;
}

if (args is ["--handler-interleaved", .. var handlerArgs])
{
    await HandlerInterleaved.RunAsync(handlerArgs);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

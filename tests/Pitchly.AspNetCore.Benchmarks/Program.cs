using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

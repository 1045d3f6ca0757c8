using Xunit.Sdk;
using Xunit.v3;

// Every test runs a farm of processes on a 2-core budget: one at a time, so no test's load starves another's.
[assembly: Parallelization(Mode = ParallelMode.None)]

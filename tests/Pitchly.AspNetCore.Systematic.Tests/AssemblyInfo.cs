using Xunit.Sdk;
using Xunit.v3;

// Coyote's testing engine and the farm model's per-exploration state are process-wide: one exploration at a time.
[assembly: Parallelization(Mode = ParallelMode.None)]

// Every test runs a farm of processes on a 2-core budget: one at a time, so no test's load starves another's.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

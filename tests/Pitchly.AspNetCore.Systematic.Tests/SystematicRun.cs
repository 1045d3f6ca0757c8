using System.Globalization;
using Microsoft.Coyote;
using Microsoft.Coyote.SystematicTesting;
using Pitchly.AspNetCore.Systematic.Tests.Model;

namespace Pitchly.AspNetCore.Systematic.Tests;

/// <summary>
/// Runs a farm scenario under Coyote's TestingEngine. Budget and seed come from the environment:
/// PITCHLY_SYSTEMATIC_ITERATIONS (schedules per scenario; default the CI budget) and PITCHLY_SYSTEMATIC_SEED (the
/// random seed; a failure prints the one that replays it).
/// </summary>
internal static class SystematicRun
{
    public const int CiIterations = 2_000;

    public static int Iterations(int ciDefault = CiIterations)
        => int.TryParse(Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_ITERATIONS"), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : ciDefault;

    /// <summary>The default wall-clock cap of one scenario: the CI run stops at <see cref="CiIterations"/> or this, whichever comes first.</summary>
    public const int CiSeconds = 30;

    /// <summary>
    /// The wall-clock cap of one scenario: PITCHLY_SYSTEMATIC_SECONDS; 0 for none (run every iteration). Without it,
    /// <see cref="CiSeconds"/>, or none when PITCHLY_SYSTEMATIC_ITERATIONS is set (a replay or an on-demand run of N
    /// schedules runs exactly N, however long they take).
    /// </summary>
    public static int Seconds()
        => int.TryParse(Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_SECONDS"), CultureInfo.InvariantCulture, out var s) && s >= 0
            ? s
            : Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_ITERATIONS") is { Length: > 0 } ? 0 : CiSeconds;

    public static uint Seed()
        => uint.TryParse(Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : (uint)Environment.TickCount;

    /// <summary>Explores <paramref name="iterations"/> schedules; the result names the first violation found, if any.</summary>
    /// <param name="replayable">
    /// Waits for uncontrolled tasks as Coyote does by default (10 × SpinWait(1,000)) instead of not at all: slower, but a
    /// thread-pool hop that a loaded machine runs late is then still seen at the same step, so the same seed replays
    /// the same schedules.
    /// </param>
    public static Result Explore(FarmScenario scenario, int iterations, uint seed, bool prioritized = false, int secondsFactor = 1, bool replayable = false)
    {
        var configuration = Configuration.Create()
            .WithTestingIterations((uint)iterations)
            .WithRandomGeneratorSeed(seed)
            .WithRandomStrategy()
            .WithMaxSchedulingSteps(20_000)
            .WithPartiallyControlledConcurrencyAllowed(true)
            .WithSystematicFuzzingFallbackEnabled(false)
            .WithCollectionAccessRaceCheckingEnabled(false)
            .WithLockAccessRaceCheckingEnabled(false)
            .WithAtomicOperationRaceCheckingEnabled(false)
            .WithVolatileOperationRaceCheckingEnabled(false)
            .WithMemoryAccessRaceCheckingEnabled(false)
            .WithControlFlowRaceCheckingEnabled(false)
            // What Coyote does not control is left: tasks that complete only when the model's clock moves (Task.Delay on
            // the model's TimeProvider, a frozen instance's steps), BCL continuations that run inline on Coyote's threads,
            // and one hop through the thread pool (the manager's WaitAsync for a caller that may cancel, which the clock
            // waits for: Quiescence). Nothing Coyote could wait for completes them, so it does not wait: by default it
            // spins 10 × SpinWait(1,000) at every such task returned incomplete, 12 % of a schedule's CPU time.
            .WithUncontrolledConcurrencyResolutionTimeout(attempts: replayable ? 10u : 1u, delay: replayable ? 1_000u : 0u)
            // The model's clock waits with Coyote's own delay: paused until no other operation is enabled, or until a
            // random number of steps below this bound has passed (see Farm.RunClockAsync).
            .WithTimeoutDelay(200)
            // The execution graph is only for Coyote's trace visualisation (not written here), and was 7 % of a schedule's CPU.
            .WithTraceAnalysisEnabled(false)
            .WithTelemetryEnabled(false)
            // PITCHLY_SYSTEMATIC_VERBOSE=1 prints Coyote's scheduling decisions (run the test executable directly to see them).
            .WithVerbosityEnabled(Verbose ? Microsoft.Coyote.Logging.VerbosityLevel.Debug : Microsoft.Coyote.Logging.VerbosityLevel.None)
            .WithConsoleLoggingEnabled(Verbose);
        if (Seconds() is > 0 and var seconds)
        {
            configuration = configuration.WithTestingTimeout(seconds * secondsFactor);
        }

        if (prioritized)
        {
            configuration = configuration.WithPrioritizationStrategy(isFair: false, priorityChangeBound: 10);
        }

        string? trace = null;
        Farm.FailureTrace = null;
        Farm.ExcusedTrace = null;
        Farm.ExcusedReuses = 0;
        Farm.HolderStalls = 0;
        Farm.OutageLosses = 0;
        var schedules = 0;
        using var engine = TestingEngine.Create(configuration, () => Farm.RunAsync(scenario));
        var profile = Profile.Start();
        engine.RegisterEndIterationCallBack(iteration =>
        {
            profile?.EndOfSchedule(iteration);
            if (iteration + 1 >= iterations)
            {
                // With a time budget Coyote 1.7 runs on past the schedule count until the time is up: stop it at the count.
                engine.Stop();
            }

            if (trace is null)
            {
                schedules = (int)iteration + 1;
                trace = Farm.FailureTrace;
            }
        });
        var started = System.Diagnostics.Stopwatch.StartNew();
        engine.Run();
        var report = engine.TestReport;
        var explored = Math.Max(1, report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths);
        return new Result(
            scenario,
            seed,
            schedules,
            report.NumOfFoundBugs > 0 ? report.BugReports.First() : null,
            trace,
            started.Elapsed,
            prioritized,
            Farm.ExcusedReuses,
            Farm.HolderStalls,
            Farm.OutageLosses,
            Farm.ExcusedTrace,
            report.TotalControlledOperations / explored,
            (report.TotalExploredFairSteps + report.TotalExploredUnfairSteps) / explored,
            string.Join(", ", report.UncontrolledInvocations.Order(StringComparer.Ordinal)));
    }

    private static bool Verbose => Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_VERBOSE") == "1";

    /// <summary>Appends the outcome to systematic-results.log beside the test assembly (figures for the docs).</summary>
    public static void Record(Result result, string test)
        => File.AppendAllText(
            Path.Combine(AppContext.BaseDirectory, "systematic-results.log"),
            $"{DateTimeOffset.UtcNow:O} {test}: {result.Describe(test)}{Environment.NewLine}");

    public sealed record Result(FarmScenario Scenario, uint Seed, int Schedules, string? Bug, string? Trace, TimeSpan Elapsed, bool Prioritized, int ExcusedReuses, int HolderStalls, int OutageLosses, string? ExcusedTrace, int OperationsPerSchedule, int StepsPerSchedule, string Uncontrolled)
    {
        public bool Found => Bug is not null;

        public string ReplayCommand(string testMethod)
            => $"PITCHLY_SYSTEMATIC_SEED={Seed} PITCHLY_SYSTEMATIC_ITERATIONS={Schedules} dotnet test --project tests/Pitchly.AspNetCore.Systematic.Tests -c Release -- --filter-method '*{testMethod}'";

        public string Describe(string testMethod)
            => Found
                ? $"{Scenario}: violation at schedule {Schedules} (seed {Seed}, {Elapsed.TotalSeconds:0.0} s): {Bug}{Environment.NewLine}replay: {ReplayCommand(testMethod)}{Environment.NewLine}{Trace}"
                : $"{Scenario}: {Schedules} schedules, no violation (seed {Seed}, {Elapsed.TotalSeconds:0.0} s, {Elapsed.TotalMilliseconds / Math.Max(1, Schedules):0} ms per schedule, {OperationsPerSchedule} operations and {StepsPerSchedule} scheduling steps per schedule; uncontrolled calls: {Uncontrolled}); holders stalled past their fence with a token in hand: {HolderStalls}, reuses inside that documented window: {ExcusedReuses}, answers lost to outages back to back: {OutageLosses}"
                  + (ExcusedTrace is null ? string.Empty : $"{Environment.NewLine}first schedule with such a reuse:{Environment.NewLine}{ExcusedTrace}");
    }
}

namespace Pitchly.AspNetCore.TestSupport;

/// <summary>
/// Starts racing work on threads of its own that all begin at a barrier: each race test's participants (a sweep against
/// writers and readers, say) start at the same moment rather than one after another as the thread pool gets to them.
/// </summary>
public static class StartTogether
{
    /// <summary>Runs <paramref name="work"/> on a dedicated thread once every participant of <paramref name="start"/> arrived.</summary>
    public static Task Run(Barrier start, Action work, CancellationToken cancellationToken) => Task.Factory.StartNew(
        () =>
        {
            start.SignalAndWait(cancellationToken);
            work();
        },
        cancellationToken,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);
}

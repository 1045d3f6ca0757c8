using System.Diagnostics;
using Xunit;

namespace Pitchly.AspNetCore.TestSupport;

/// <summary>
/// Waits, in real time, until a condition holds: for what the code under test finishes in the background (a refresh, a
/// pub/sub message, a failover). Linked into every test project that needs it, so all of them wait the same way.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test when it does not within <paramref name="within"/>.</summary>
    public static Task HoldsAsync(Func<bool> condition, TimeSpan within, string what) =>
        HoldsAsync(() => Task.FromResult(condition()), within, what);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test when it does not within <paramref name="within"/>.</summary>
    /// <remarks>Polls every 10 ms at first and less often (up to every 100 ms) the longer it waits, so a condition that
    /// asks another process is not asked in a tight loop.</remarks>
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var elapsed = Stopwatch.StartNew();
        var poll = FirstPoll;
        while (!await condition())
        {
            if (elapsed.Elapsed > within)
            {
                Assert.Fail($"Not within {within.TotalSeconds:0.#} s: {what}.");
            }

            await Task.Delay(poll, TestContext.Current.CancellationToken);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, LongestPoll.Ticks));
        }
    }
}

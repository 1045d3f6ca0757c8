namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>Holds a request for an injected delay: at least the delay by the emulator's clock, never less.</summary>
internal static class EmulatedLatency
{
    public static async Task WaitAsync(TimeProvider timeProvider, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        // System timers tick in whole milliseconds and may fire a fraction of one early by the high-resolution clock,
        // so wait again for what is left rather than promise a latency that a stopwatch sees as shorter.
        var started = timeProvider.GetTimestamp();
        var remaining = delay;
        while (remaining > TimeSpan.Zero)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), timeProvider, cancellationToken);
            remaining = delay - timeProvider.GetElapsedTime(started);
        }
    }
}

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>
/// Pauses between attempts to re-establish a connection: exponential from the first delay, capped, with "equal
/// jitter" (half fixed, half random) so a fleet that lost Pitchly at the same moment does not come back in step, while
/// no pause is shorter than half its step (a flapping endpoint is never hammered).
/// </summary>
/// <remarks>
/// Written here rather than taken from a Polly retry pipeline: the count restarts once a connection proves healthy,
/// and a token rejection re-subscribes at once, outside the backoff — neither fits one retry strategy around a call.
/// </remarks>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int attempt, TimeSpan first, TimeSpan max)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var step = Math.Min(first.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }
}

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// A fence this owner wrote: the fenced record (its refresh token may be presented by this owner only), when it was
/// written on both clocks, and the timeouts it was written with.
/// </summary>
/// <param name="Key">The key whose record is fenced.</param>
/// <param name="Record">The record as fenced; its <see cref="PitchlyTokenRecord.RefreshIntent"/> names this owner.</param>
/// <param name="FencedAt">The monotonic timestamp of the fence's write.</param>
/// <param name="FencedAtWallClock">The wall-clock time of the fence's write.</param>
/// <param name="Timeout">How long the fence holds (<see cref="PitchlyTokenManagementOptions.FenceTimeout"/>).</param>
/// <param name="SendWindow">How long after the fence a token request may still be sent: the fence less the request's own timeout.</param>
internal sealed record HeldFence(
    PitchlyTokenKey Key,
    PitchlyTokenRecord Record,
    long FencedAt,
    DateTimeOffset FencedAtWallClock,
    TimeSpan Timeout,
    TimeSpan SendWindow)
{
    /// <summary>The refresh token this owner alone may present.</summary>
    public string RefreshToken => Record.RefreshToken!;

    public string Owner => Record.RefreshIntent!.Owner;

    /// <summary>
    /// Whether the send deadline has passed, on both clocks: a process that froze since the fence was written (the
    /// monotonic clock may stand still while a VM is suspended; the wall clock catches up) must not send a request that
    /// could still be in flight when another owner may claim the record.
    /// </summary>
    public bool IsPastSendDeadline(TimeProvider timeProvider)
        => timeProvider.GetElapsedTime(FencedAt) >= SendWindow || timeProvider.GetUtcNow() - FencedAtWallClock >= SendWindow;

    /// <summary>What is left of the fence: a token request gives up by then, so no other owner can claim the record while it may still be answered.</summary>
    public TimeSpan TimeLeft(TimeProvider timeProvider) => Timeout - timeProvider.GetElapsedTime(FencedAt);
}

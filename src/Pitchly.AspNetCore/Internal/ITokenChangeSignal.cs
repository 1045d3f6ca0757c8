namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Implemented by token stores that hear of every instance's writes (the Redis store, by pub/sub), so that a refresh
/// waiting at another owner's fence wakes as soon as the new tokens are written instead of at its next poll.
/// </summary>
internal interface ITokenChangeSignal
{
    /// <summary>Completes when a write to <paramref name="key"/> is announced, or after <paramref name="timeout"/>.</summary>
    Task WaitForChangeAsync(PitchlyTokenKey key, TimeSpan timeout, CancellationToken cancellationToken);
}

namespace Pitchly.AspNetCore.Redis;

/// <summary>
/// What a write of new tokens does when the Redis primary has replicas and none acknowledged the write within
/// <see cref="PitchlyRedisOptions.ReplicaAcknowledgementTimeout"/>.
/// </summary>
/// <remarks>
/// A write only the primary holds is lost if the primary fails over before a replica copies it. A lost refresh intent
/// or lost new tokens would leave a replica promoted with a refresh token Pitchly has already spent, which the next
/// refresh would present again: Pitchly then revokes the token family and the user is signed out everywhere.
/// </remarks>
public enum PitchlyRedisUnacknowledgedWritePolicy
{
    /// <summary>
    /// The default. The write counts as not done: the operation throws a retryable
    /// <see cref="PitchlyTokenStoreUnavailableException"/> and no refresh token is presented on the strength of it. The
    /// token manager keeps retrying the write of tokens Pitchly has issued (for
    /// <see cref="PitchlyTokenManagementOptions.StoreWriteRetryTimeout"/>), and the write is acknowledged then or
    /// applied again on the promoted replica.
    /// </summary>
    FailRetryably = 0,

    /// <summary>
    /// The write counts as done on the primary alone: it is logged and counted
    /// (<c>pitchly.store.unacknowledged_writes</c>) and the operation goes on. Calls keep working while every replica
    /// is slow or gone, at the risk above if the primary fails over before a replica catches up.
    /// </summary>
    AcceptPrimaryOnly = 1,
}

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>What <see cref="ReplicaAcknowledgement.ConfirmAsync"/> found out about a write.</summary>
internal enum ReplicaAcknowledgementOutcome
{
    /// <summary>The primary is known to have no replica (or the wait is off): there is nothing to wait for.</summary>
    NotNeeded,

    /// <summary>A replica holds the write.</summary>
    Acknowledged,

    /// <summary>No replica acknowledged the write in time; the primary still holds it.</summary>
    Unacknowledged,

    /// <summary>A failover came after the write, and the primary now serving the record does not hold it.</summary>
    Lost,
}

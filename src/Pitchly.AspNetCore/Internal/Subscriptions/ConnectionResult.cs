using System.Net.WebSockets;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>How one connection of a subscription ended, when it ended without a fatal error.</summary>
internal enum ConnectionEnd
{
    /// <summary>Pitchly sent <c>complete</c>: the subscription is over.</summary>
    Completed,

    /// <summary>Pitchly closed the connection because of the access token (4403, or 4401).</summary>
    TokenRejected,

    /// <summary>The connection failed or was closed for a reason a new connection may cure.</summary>
    Lost,

    /// <summary>The application stopped the subscription.</summary>
    Stopped,
}

/// <summary>
/// How far one connection got: what resets the client's reconnect count, and tells a token rejected right away from
/// one that served a while.
/// </summary>
/// <param name="Acknowledged">Pitchly answered <c>connection_init</c> with <c>connection_ack</c>.</param>
/// <param name="DeliveredEvent">At least one <c>next</c> of the subscription arrived.</param>
/// <param name="Uptime">How long the connection lasted after its acknowledgement.</param>
internal readonly record struct ConnectionProgress(bool Acknowledged, bool DeliveredEvent, TimeSpan Uptime)
{
    /// <summary>Gets the progress of a connection that ended before <c>connection_ack</c>.</summary>
    public static ConnectionProgress NotAcknowledged => default;
}

/// <summary>What one connection did: how it ended, why, and how far it got.</summary>
/// <param name="End">How it ended.</param>
/// <param name="Progress">How far it got.</param>
/// <param name="Reason">The reason as a metric tag and log value (<c>connection_lost</c>, <c>server_closed</c>, ...).</param>
/// <param name="CloseStatus">The close code, when the connection was closed with one.</param>
/// <param name="Failure">What broke the connection, if something did.</param>
internal sealed record ConnectionResult(ConnectionEnd End, ConnectionProgress Progress, string Reason, int? CloseStatus, Exception? Failure)
{
    public static ConnectionResult Completed(ConnectionProgress progress) =>
        new(ConnectionEnd.Completed, progress, "completed", (int)WebSocketCloseStatus.NormalClosure, null);

    public static ConnectionResult Stopped(ConnectionProgress progress, int? closeStatus = null) =>
        new(ConnectionEnd.Stopped, progress, "stopped", closeStatus, null);

    public static ConnectionResult TokenRejected(ConnectionProgress progress, int? closeStatus) =>
        new(ConnectionEnd.TokenRejected, progress, "token_rejected", closeStatus, null);

    public static ConnectionResult Lost(ConnectionProgress progress, string reason, int? closeStatus = null, Exception? failure = null) =>
        new(ConnectionEnd.Lost, progress, reason, closeStatus, failure);
}

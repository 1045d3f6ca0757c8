namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of <see cref="IPitchlySubscriptionClient"/>, bound from the <c>Pitchly:Subscriptions</c> configuration
/// section and validated at start-up.
/// </summary>
public sealed class PitchlySubscriptionClientOptions
{
    /// <summary>
    /// Gets or sets Pitchly's graphql-ws endpoint. When <see langword="null"/> (the default) it is derived from
    /// <c>Pitchly:GraphQLEndpoint</c>: the same host with <c>wss</c> (<c>ws</c> for <c>http</c>) and the last path
    /// segment replaced by <c>subscriptions</c>, so <c>https://api.pitchly.com/graphql</c> gives
    /// <c>wss://api.pitchly.com/subscriptions</c>. Plain <c>ws</c> is accepted only for loopback hosts and in Development.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Gets or sets how long opening a connection may take, from the WebSocket handshake to Pitchly's
    /// <c>connection_ack</c> (default 10 seconds). A connection that takes longer is abandoned and retried.
    /// </summary>
    public TimeSpan ConnectionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets the interval of WebSocket keep-alive pings (default 30 seconds); a connection whose ping is not
    /// answered within the same interval counts as lost and is re-established. <see cref="TimeSpan.Zero"/> turns the pings off.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the pause before the first attempt to re-establish a lost connection (default 1 second); each
    /// further attempt doubles it, up to <see cref="MaxReconnectDelay"/>, and every pause is jittered.
    /// </summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest pause between attempts to re-establish a lost connection (default 30 seconds).</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many attempts in a row may fail to re-establish a lost connection before the subscription ends
    /// with a <see cref="PitchlySubscriptionReconnectException"/> (default 10; 0 gives up at the first loss). The
    /// count starts again once a connection has delivered an event or stayed up for <see cref="MaxReconnectDelay"/>.
    /// </summary>
    public int MaxReconnectAttempts { get; set; } = 10;

    /// <summary>
    /// Gets or sets the largest message read from Pitchly (default 8 MiB); a larger one ends the subscription with a
    /// <see cref="PitchlySubscriptionException"/>.
    /// </summary>
    public int MaxMessageSize { get; set; } = 8 * 1024 * 1024;
}

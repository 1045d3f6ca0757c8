namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// Settings of the Pitchly emulator, bound from the <c>Pitchly:Emulator</c> configuration section
/// (e.g. <c>Pitchly__Emulator__AccessTokenLifetime=00:00:05</c>). Every knob but <see cref="Clients"/>,
/// <see cref="AllowRemote"/> and <see cref="AllowRemoteAdmin"/> can be changed while the emulator runs, with
/// <see cref="PitchlyEmulator.Configure"/> or <c>POST /_emulator/settings</c>.
/// </summary>
public sealed class PitchlyEmulatorOptions
{
    /// <summary>
    /// Gets or sets whether the authorization endpoint approves at once, without a consent page, as the first seeded user
    /// (or as the person named by the emulator-only <c>person_id</c> query parameter). Default: <see langword="false"/>.
    /// </summary>
    public bool AutoApprove { get; set; }

    /// <summary>
    /// Gets or sets whether the emulator-only <c>/_emulator/…</c> endpoints (settings, invalidation, App SDK tokens, the
    /// request log) answer callers that are not on the loopback interface. Default: <see langword="false"/>: a caller
    /// from another machine gets 403. Behind a reverse proxy on the same machine every caller looks local unless the app
    /// applies forwarded headers. Needs <see cref="AllowRemote"/>. Without it the admin endpoints also refuse a <c>Host</c>
    /// that is not a loopback name (DNS rebinding); with or without it they refuse an <c>Origin</c> that is not loopback and
    /// bodies that are not JSON, so a page in a browser cannot drive them. Fixed at start: <c>POST /_emulator/settings</c>
    /// cannot change it.
    /// </summary>
    public bool AllowRemoteAdmin { get; set; }

    /// <summary>
    /// Gets or sets whether the emulator may serve on an address other than loopback (<c>0.0.0.0</c>, <c>[::]</c>,
    /// <c>*</c>, <c>+</c>, a host name, a LAN address). Default: <see langword="false"/>: an app that maps the emulator's
    /// endpoints, or the <c>pitchly-emulator</c> tool, stops at start-up when its server listens on such an address, because
    /// the emulator lets anyone sign in as anyone and hands out tokens of every organization to the published default
    /// client. When <see langword="true"/>, the emulator starts and logs a warning. The tool's <c>--allow-remote</c> flag
    /// sets it. Fixed at start: <c>POST /_emulator/settings</c> cannot change it.
    /// </summary>
    public bool AllowRemote { get; set; }

    /// <summary>
    /// Gets or sets the largest request body, in bytes, the emulator reads on any of its endpoints (GraphQL requests, token
    /// and consent forms, the <c>/_emulator/…</c> JSON bodies); a larger body is answered 413. Default: 1 MiB.
    /// </summary>
    public long MaxRequestBodySize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets how deeply fields may nest in a GraphQL operation (HTTP and subscriptions); a deeper document fails
    /// validation. Default: 20. Measured with this rule: the standard introspection query (graphql-js
    /// <c>getIntrospectionQuery()</c>) needs 15, the package's sign-in query 3, the samples' deepest query 5.
    /// </summary>
    public int MaxQueryDepth { get; set; } = 20;

    /// <summary>
    /// Gets or sets how many operations one subscription connection may run at once; a <c>subscribe</c> beyond it is
    /// answered with an <c>error</c> message for that id, and the connection stays open. Default: 100.
    /// </summary>
    public int MaxSubscriptionOperations { get; set; } = 100;

    /// <summary>
    /// Gets or sets how many messages may wait to be sent on one subscription connection. A client that reads more slowly
    /// than its events arrive has its connection closed (1008, policy violation) when the queue would grow past it, rather
    /// than making the emulator buffer without end. Default: 1000.
    /// </summary>
    public int MaxSubscriptionSendQueue { get; set; } = 1000;

    /// <summary>
    /// Gets or sets how many spent refresh tokens the emulator remembers to recognise their reuse; past it the oldest are
    /// forgotten. A forgotten token is still refused (<c>invalid_grant</c>), but its reuse is no longer counted nor revokes
    /// its family. Default: 100 000.
    /// </summary>
    public int MaxSpentRefreshTokens { get; set; } = 100_000;

    /// <summary>Gets or sets the lifetime of access tokens. Default: one hour.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets the lifetime of authorization codes. Default: one minute.</summary>
    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets the lifetime of App SDK tokens when <see cref="PitchlyEmulator.IssueAppSdkToken"/> is given none. Default: 30 minutes.</summary>
    public TimeSpan AppSdkTokenLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Gets or sets how the GraphQL endpoint reports authentication and permission errors. Default: <see cref="PitchlyEmulatorErrorStyle.Platform"/>.</summary>
    public PitchlyEmulatorErrorStyle ErrorStyle { get; set; }

    /// <summary>
    /// Gets or sets whether presenting a spent refresh token revokes its whole family: every access and refresh token
    /// descending from the same authorization. Default: <see langword="true"/>.
    /// </summary>
    public bool StrictRefreshTokenReuse { get; set; } = true;

    /// <summary>
    /// Gets or sets a delay added to every token and GraphQL request: each is held at least this long by the emulator's
    /// <see cref="TimeProvider"/>. Default: none.
    /// </summary>
    public TimeSpan Latency { get; set; }

    /// <summary>
    /// Gets or sets the chance (0 to 1) that a GraphQL request's still-valid access token is invalidated right before it
    /// is checked, as Pitchly may invalidate tokens before they expire. Default: 0.
    /// </summary>
    public double EarlyInvalidationRate { get; set; }

    /// <summary>Gets or sets how many extra people ("Load User 1…N") to seed in the first organization, for load tests. Default: 0.</summary>
    public int GeneratedUsers { get; set; }

    /// <summary>Gets or sets the chance (0 to 1) that a token request meets <see cref="TokenEndpointFault"/>. Default: 0.</summary>
    public double TokenEndpointFaultRate { get; set; }

    /// <summary>Gets or sets the fault the token endpoint injects at <see cref="TokenEndpointFaultRate"/>. Default: <see cref="PitchlyEmulatorFault.None"/>.</summary>
    public PitchlyEmulatorFault TokenEndpointFault { get; set; }

    /// <summary>Gets or sets how long <see cref="PitchlyEmulatorFault.Delay"/> waits. Default: five seconds.</summary>
    public TimeSpan TokenEndpointFaultDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how many of the most recent GraphQL requests <see cref="PitchlyEmulator.GraphQLRequests"/> keeps. Default: 10 000.</summary>
    public int GraphQLRequestLogCapacity { get; set; } = 10_000;

    /// <summary>
    /// Gets the registered apps. It starts with the default client (<see cref="PitchlyEmulatorDefaults.ClientId"/>,
    /// any loopback redirect URI); clients bound from configuration are added after it. Clients are fixed at start.
    /// </summary>
    public IList<PitchlyEmulatorClient> Clients => _clients;

    private List<PitchlyEmulatorClient> _clients =
    [
        new()
        {
            ClientId = PitchlyEmulatorDefaults.ClientId,
            ClientSecret = PitchlyEmulatorDefaults.ClientSecret,
            AllowAnyLoopbackRedirectUri = true,
        },
    ];

    internal PitchlyEmulatorOptions Clone()
    {
        var clone = (PitchlyEmulatorOptions)MemberwiseClone();
        clone._clients = _clients.ConvertAll(client => client.Clone());
        return clone;
    }
}

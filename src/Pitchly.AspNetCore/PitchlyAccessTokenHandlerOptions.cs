namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of the access-token handler of one named <see cref="HttpClient"/> (configured by
/// <c>AddPitchlyUserAccessToken</c>, <c>AddPitchlyInstallAccessToken</c>, <c>AddPitchlyApiKey</c> and
/// <c>AddPitchlySelfSignedJwt</c>). Every client's handler reads the <c>Pitchly:AccessToken</c> configuration section
/// first (<c>Placement</c>, <c>MaxRequestBufferSize</c>, <c>MaxResponseInspectionSize</c>, <c>InvalidTokenErrorCodes</c>,
/// which replaces the defaults, <c>AllowedOrigins</c>, which adds to them, and <c>AllowCustomPrimaryHandler</c>), then
/// the code passed at registration; invalid values stop the start with a message naming the key.
/// </summary>
public sealed class PitchlyAccessTokenHandlerOptions
{
    /// <summary>Gets or sets where the token goes (default: the <c>Authorization</c> header, the current platform).</summary>
    public PitchlyTokenPlacement Placement { get; set; } = PitchlyTokenPlacement.AuthorizationHeader;

    /// <summary>
    /// Gets or sets the largest request body kept in memory so the request can be replayed after a refresh
    /// (default 1 MiB). A larger body is sent as it streams, without replay: if Pitchly then rejects the token, the
    /// token is refreshed and a <see cref="PitchlyException"/> says the request was not replayed.
    /// </summary>
    public int MaxRequestBufferSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets the largest response read into memory to look for an invalid-token error (default 1 MiB). Only
    /// responses with <c>data: null</c> or <c>errors</c> before <c>data</c> are read; larger ones pass through as they
    /// are, since Pitchly's invalid-token answers are small.
    /// </summary>
    public int MaxResponseInspectionSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets the GraphQL error codes that mean "the access token is invalid": matched against
    /// <c>errors[].extensions.code</c> and the legacy <c>errors[].data.error</c>. Defaults: <c>UNAUTHENTICATED</c>
    /// (current platform) and <c>token-invalid</c> (legacy). HTTP 401 always counts.
    /// </summary>
    /// <remarks>
    /// Cleared, only HTTP 401 counts: no answer is read before the caller gets it (no peek at its first member, no
    /// wrapper around its content), which saves that cost on every call, but an HTTP 200 answer carrying Pitchly's
    /// invalid-token error (<c>data: null</c> with <c>UNAUTHENTICATED</c>) is then returned as it is, without a refresh.
    /// Clear it only for an endpoint known to answer a rejected token with 401.
    /// </remarks>
    public ISet<string> InvalidTokenErrorCodes { get; } = new HashSet<string>(StringComparer.Ordinal) { "UNAUTHENTICATED", "token-invalid" };

    /// <summary>
    /// Gets the origins (scheme, host and port, such as <c>https://api.pitchly.com</c>) this client's handler sends a
    /// credential to. The origins of Pitchly's configured endpoints (<c>Pitchly:GraphQLEndpoint</c>,
    /// <c>Pitchly:TokenEndpoint</c>, <c>Pitchly:Subscriptions:Endpoint</c>, so the embedded emulator's too) are always
    /// added; add others, such as a gateway in front of Pitchly, here. A request to any other origin, or plain
    /// <c>http</c> to a host that is not loopback (outside Development), fails with
    /// <see cref="PitchlyOriginNotAllowedException"/> before any credential is read or attached.
    /// </summary>
    public ISet<string> AllowedOrigins { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Gets or sets whether this client may have a primary handler other than <see cref="HttpClientHandler"/> or
    /// <see cref="SocketsHttpHandler"/> (default <see langword="false"/>). The package turns automatic redirects off on
    /// those two, so a 307 or 308 cannot replay the credential and the body to another host; on any other primary
    /// handler it cannot, and creating the client fails unless this is set. Set it only for a handler that never
    /// follows redirects (a test double, a handler that forwards in process).
    /// </summary>
    public bool AllowCustomPrimaryHandler { get; set; }
}

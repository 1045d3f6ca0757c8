namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of the App SDK token exchange endpoint (<c>app.MapPitchlyTokenExchange()</c>), bound from the
/// <c>Pitchly:TokenExchange</c> configuration section. Pitchly does not publish the wire format of the grant that turns
/// an App SDK token into long-lived tokens, so it is configurable; the defaults are RFC 8693 token exchange, which the
/// emulator implements.
/// </summary>
public sealed class PitchlyTokenExchangeOptions
{
    /// <summary>Gets or sets the <c>grant_type</c> sent to the token endpoint (default <c>urn:ietf:params:oauth:grant-type:token-exchange</c>).</summary>
    public string GrantType { get; set; } = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// <summary>Gets or sets the form parameter that carries the App SDK token (default <c>subject_token</c>).</summary>
    public string SubjectTokenParameter { get; set; } = "subject_token";

    /// <summary>
    /// Gets or sets the value of <c>subject_token_type</c> (default <c>urn:ietf:params:oauth:token-type:access_token</c>);
    /// <see langword="null"/> or empty sends no <c>subject_token_type</c>.
    /// </summary>
    public string? SubjectTokenType { get; set; } = "urn:ietf:params:oauth:token-type:access_token";

    /// <summary>Gets extra form parameters sent with the grant (for example <c>requested_token_type</c>).</summary>
    public IDictionary<string, string> AdditionalParameters { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Gets the origins, besides the app's own, whose pages may post to the endpoint (as <c>scheme://host[:port]</c>).
    /// Defaults: Pitchly's, <c>https://platform.pitchly.com</c> and <c>https://v2.pitchly.net</c>. Behind a proxy, the
    /// app's own origin is computed from the forwarded scheme and host (<c>UseForwardedHeaders</c>).
    /// </summary>
    public ISet<string> AllowedOrigins { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "https://platform.pitchly.com",
        "https://v2.pitchly.net",
    };

    /// <summary>
    /// Gets or sets whether, when the token endpoint's answer does not name the organization, the endpoint asks Pitchly's
    /// GraphQL API (<c>{ organization { id } }</c> with the new token) which organization the tokens belong to, and refuses
    /// to store them under another (default <see langword="true"/>). Without it the browser's <c>organizationId</c> is
    /// trusted for an install that has no stored tokens yet, so a valid App SDK token of one organization could be stored
    /// under another's new install; tokens that would replace an install's stored record are verified either way.
    /// The same request confirms a <c>databaseId</c> the browser posted and the token answer did not name
    /// (<c>workspace(id: $databaseId) { id }</c>: it must be a database of the organization the token can see), or the
    /// exchange is refused with 403 <c>database-unconfirmed</c>. With this set to <see langword="false"/> nothing is asked,
    /// so such a <c>databaseId</c> is always refused (403 <c>database-unconfirmed</c>, nothing stored): post it only when
    /// verification is on or the token answer names the database.
    /// </summary>
    public bool VerifyOrganization { get; set; } = true;

    /// <summary>Gets or sets the largest request body accepted (default 16 KiB).</summary>
    public int MaxRequestSize { get; set; } = 16 * 1024;

    /// <summary>
    /// Gets or sets how many exchange requests one client address may make per <see cref="RateLimitWindow"/> (default 10);
    /// 0 turns this limit off. Requests over the limit are answered 429 with <c>Retry-After</c> before the body is read.
    /// An IPv4 address is one client; IPv6 addresses count per /64 network, the block one subscriber usually holds, so
    /// changing the low 64 bits does not buy a fresh budget. Behind a proxy the client address is the proxy's unless the
    /// app uses <c>UseForwardedHeaders</c> (a warning is logged once when a request carries <c>X-Forwarded-For</c> that
    /// was not applied).
    /// </summary>
    public int PermitsPerClientAddress { get; set; } = 10;

    /// <summary>
    /// Gets or sets how many exchanges may succeed at Pitchly for one organization per <see cref="RateLimitWindow"/>, from
    /// all addresses together (default 30); 0 turns this limit off. An attempt is charged to the organization Pitchly
    /// confirmed for the issued tokens (its answer's <c>organization_id</c> or the GraphQL check), never to the
    /// <c>organizationId</c> the browser claimed, so App SDK tokens Pitchly refuses, or tokens of another organization,
    /// cannot use up an organization's budget; those are bounded by <see cref="PermitsPerClientAddress"/> and
    /// <see cref="MaxConcurrentExchanges"/>. An organization whose budget is spent gets 429 before Pitchly is asked.
    /// </summary>
    public int PermitsPerOrganization { get; set; } = 30;

    /// <summary>
    /// Gets or sets how many exchanges this instance runs against Pitchly at once, over all clients and organizations
    /// (default 16); 0 turns the bound off. A request over it is answered 503 with <c>Retry-After</c> before Pitchly is
    /// asked, so a flood from many addresses cannot tie up the server's connections to Pitchly or the app's standing there.
    /// </summary>
    public int MaxConcurrentExchanges { get; set; } = 16;

    /// <summary>Gets or sets the fixed window the two rate limits count in (default one minute).</summary>
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);
}

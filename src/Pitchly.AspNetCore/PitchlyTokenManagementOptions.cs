namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of Pitchly token management, bound from the <c>Pitchly:TokenManagement</c> configuration section. The client
/// credentials and token endpoint are the Pitchly sign-in scheme's (from configuration or code, whatever the scheme's
/// name), or without sign-in <c>Pitchly:ClientId</c>, <c>Pitchly:ClientSecret</c> and <c>Pitchly:TokenEndpoint</c>;
/// no other key of the <c>Pitchly</c> section is read (sign-in's <c>Pitchly:Scope</c> never narrows refreshes).
/// </summary>
public sealed class PitchlyTokenManagementOptions
{
    /// <summary>Gets or sets the App ID.</summary>
    public string? ClientId { get; set; }

    /// <summary>Gets or sets the App Secret. Server side only; never logged.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Gets or sets Pitchly's token endpoint.</summary>
    public string TokenEndpoint { get; set; } = "https://platform.pitchly.com/api/oauth/token";

    /// <summary>
    /// Gets or sets how long before expiry an access token is renewed proactively (default 5 minutes, in line with
    /// Pitchly's App SDK). Never more than half of a token's lifetime, so short-lived tokens are not renewed on every call.
    /// In the first half of the window a call goes on with the current token while the renewal runs beside it; in the
    /// second half it waits for the new token.
    /// </summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets how long one shared refresh may wait for the refresh lock and between attempts to reach the token
    /// endpoint (default 30 seconds, at most one day). It never cuts short a token request that was sent: once a grant
    /// may have reached Pitchly, its answer is read and stored, bounded by <see cref="TokenRequestTimeout"/> instead,
    /// since abandoning it would lose the only copy of the new refresh token.
    /// </summary>
    public TimeSpan RefreshTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long one token request may take, from sending it to reading Pitchly's whole answer (default
    /// 30 seconds; at most one day). A request that times out is not re-sent, because Pitchly may have processed it;
    /// its refresh token is then used again only once the access token is no longer usable.
    /// </summary>
    public TimeSpan TokenRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long the fence of a refresh lives (default 45 seconds): before presenting a refresh token, the
    /// refreshing instance writes into the token record that it is spending it; every other instance then waits for
    /// the new tokens instead of presenting the same refresh token, for at most this long after the fence was written.
    /// The fence's owner sends its request only within the first <c>FenceTimeout − TokenRequestTimeout</c> and gives up
    /// on it by the end, so the fence must outlast <see cref="TokenRequestTimeout"/> by at least a second. It bounds how
    /// long an instance that froze or died mid-refresh delays that one key's next refresh; it never lets a refresh token
    /// be spent twice. Left at its default while <see cref="TokenRequestTimeout"/> is raised past it, it follows:
    /// <c>TokenRequestTimeout</c> + 15 seconds.
    /// </summary>
    public TimeSpan FenceTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// Gets or sets how many freshly issued access tokens of one key may be rejected in a row, with no call of that key
    /// succeeding in between, before refreshing that key pauses for <see cref="RejectedTokenCoolDown"/> (default 10: under
    /// heavy early invalidation one instance's calls of a key can meet several kills in a row before one of them completes). Guards
    /// Pitchly against a refresh loop when something rejects every token (a proxy answering 401 to everything, a revoked
    /// app); tokens Pitchly kills early while calls keep succeeding never trip it.
    /// </summary>
    public int RejectedTokenLimit { get; set; } = 10;

    /// <summary>
    /// Gets or sets how long refreshing a key stays paused once <see cref="RejectedTokenLimit"/> is reached (default 30
    /// seconds). Calls of that key fail fast with <see cref="PitchlyTokenRejectedException"/> meanwhile; then one refresh is
    /// tried again, so a key whose tokens keep being rejected costs Pitchly at most one grant per cool-down.
    /// </summary>
    public TimeSpan RejectedTokenCoolDown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the pause between attempts when the token endpoint cannot be reached (Pitchly's SDK retries every
    /// 5 seconds).
    /// </summary>
    public TimeSpan TokenEndpointRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how long renewals of a key wait after one of its refreshes failed with an error that may pass (an
    /// OAuth error other than <c>invalid_grant</c> such as <c>temporarily_unavailable</c>, a 5xx, a timeout; default 30
    /// seconds). Meanwhile calls use the still-valid access token without sending a grant, so the token endpoint gets at
    /// most one renewal grant per key per interval from an instance until one succeeds. A rejected token is refreshed at
    /// once regardless, and an expired one too.
    /// </summary>
    public TimeSpan FailedRenewalRetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the total time spent retrying an unreachable token endpoint before giving up.</summary>
    public TimeSpan TokenEndpointRetryTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Gets or sets how long tokens Pitchly has just issued keep being offered to an unreachable token store (a Redis
    /// restart, say; default 60 seconds). Until they are stored they exist only in this process, and dropping them would
    /// leave the store holding a refresh token Pitchly has already spent. Every attempt first extends the refresh's fence;
    /// it must be at least <see cref="FenceTimeout"/>, so the tokens are kept at least as long as the fence keeps other
    /// instances from refreshing. Left at its default while the fence is longer, it follows the fence.
    /// </summary>
    public TimeSpan StoreWriteRetryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets the Pitchly sign-in scheme whose client credentials and token endpoint are used when
    /// <see cref="ClientId"/> is not set. <see langword="null"/> (the default) means the one scheme <c>AddPitchly</c>
    /// registered, whatever its name; set it only when several are registered (start-up fails otherwise, naming them).
    /// A name that is not a Pitchly scheme stops the start.
    /// </summary>
    public string? AuthenticationScheme { get; set; }

    /// <summary>A problem found while deriving settings from sign-in, reported by start-up validation.</summary>
    internal string? ConfigurationFailure { get; set; }

    /// <summary>
    /// Gets or sets the space-delimited scope requested with <c>refresh_token</c> and <c>client_credentials</c> grants
    /// to downscope the access token; <see langword="null"/> (the default) requests none, that is the full scope the
    /// organization granted the app.
    /// </summary>
    public string? Scope { get; set; }

    /// <summary>
    /// Gets the organizations the app has registered for the <c>client_credentials</c> grant, bound from
    /// <c>Pitchly:TokenManagement:ClientCredentialsOrganizations</c>. When an install key has no stored tokens (or none it
    /// can refresh) the token manager asks Pitchly for app-level tokens of the key's organization; with this set non-empty
    /// it does so only for the organizations listed, and throws <see cref="PitchlyOrganizationNotRegisteredException"/> for
    /// any other without sending a request. Empty (the default) allows every organization, as before: install keys must
    /// then be built only from an authenticated context, never from a tenant the caller names. Tokens stored by the App
    /// SDK exchange are used and refreshed whatever this holds.
    /// </summary>
    public ISet<string> ClientCredentialsOrganizations { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Gets or sets how long a record of the in-memory store (the default store, without Redis) lives after it was last
    /// read or written (default 30 days, as Redis's <c>RecordTimeToLive</c>; a read less than a second after the record's
    /// last use may not extend it, so reads of a busy record write nothing). The records of users who never come back are
    /// dropped; such a user is asked to sign in again (cookie validation rejects a cookie whose record is gone), and an
    /// install key gets new tokens. Has no effect on another store.
    /// </summary>
    public TimeSpan InMemoryRecordTimeToLive { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Gets or sets the most records the in-memory store holds (default 0: no cap). Past it, the least recently used
    /// records are evicted, moments after the write that crossed it (off the request path), and an evicted user is
    /// asked to sign in again. Has no effect on another store.
    /// </summary>
    public int InMemoryMaxRecords { get; set; }

    /// <summary>Gets or sets the largest token-endpoint response accepted (default 64 KiB); larger answers are refused.</summary>
    public int MaxTokenResponseSize { get; set; } = 64 * 1024;
}

using System.Text.Json.Serialization;

namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// A snapshot of the emulator's counters since it started or since the last reset. <c>GET /_emulator/stats</c> returns
/// it as JSON with snake_case names.
/// </summary>
public sealed record PitchlyEmulatorStats
{
    /// <summary>Gets the number of requests to the token endpoint, whatever their outcome.</summary>
    [JsonPropertyName("token_requests")]
    public long TokenRequests { get; init; }

    /// <summary>Gets the number of authorization requests that reached a decision (approved, denied or auto-approved).</summary>
    [JsonPropertyName("authorization_requests")]
    public long AuthorizationRequests { get; init; }

    /// <summary>Gets the number of successful authorization code grants.</summary>
    [JsonPropertyName("authorization_code_grants")]
    public long AuthorizationCodeGrants { get; init; }

    /// <summary>Gets the number of successful refresh token grants (rotations).</summary>
    [JsonPropertyName("refresh_grants")]
    public long RefreshGrants { get; init; }

    /// <summary>Gets the number of successful client credentials grants.</summary>
    [JsonPropertyName("client_credentials_grants")]
    public long ClientCredentialsGrants { get; init; }

    /// <summary>Gets the number of successful token exchange grants.</summary>
    [JsonPropertyName("token_exchange_grants")]
    public long TokenExchangeGrants { get; init; }

    /// <summary>Gets the number of times a spent refresh token was presented again.</summary>
    [JsonPropertyName("refresh_token_reuse")]
    public long RefreshTokenReuse { get; init; }

    /// <summary>Gets the number of token families revoked (refresh token reuse in strict mode, or a replayed authorization code).</summary>
    [JsonPropertyName("revoked_families")]
    public long RevokedFamilies { get; init; }

    /// <summary>Gets the number of times a redeemed authorization code was presented again.</summary>
    [JsonPropertyName("authorization_code_replays")]
    public long AuthorizationCodeReplays { get; init; }

    /// <summary>Gets the number of token requests answered with an error, injected faults included.</summary>
    [JsonPropertyName("failed_token_requests")]
    public long FailedTokenRequests { get; init; }

    /// <summary>Gets the number of token requests that met an injected fault.</summary>
    [JsonPropertyName("injected_faults")]
    public long InjectedFaults { get; init; }

    /// <summary>Gets the number of access tokens issued by every grant and by <see cref="PitchlyEmulator.IssueAppSdkToken"/>.</summary>
    [JsonPropertyName("access_tokens_issued")]
    public long AccessTokensIssued { get; init; }

    /// <summary>Gets the number of requests to the GraphQL endpoint, whatever their outcome.</summary>
    [JsonPropertyName("graphql_requests")]
    public long GraphQLRequests { get; init; }

    /// <summary>Gets the number of GraphQL requests rejected for a missing, invalid, expired or revoked credential.</summary>
    [JsonPropertyName("graphql_unauthenticated")]
    public long GraphQLUnauthenticated { get; init; }

    /// <summary>Gets the number of GraphQL fields refused for a missing permission (a downscoped token's mutation).</summary>
    [JsonPropertyName("graphql_forbidden")]
    public long GraphQLForbidden { get; init; }

    /// <summary>
    /// Gets the number of access tokens invalidated before their expiry, by <see cref="PitchlyEmulatorOptions.EarlyInvalidationRate"/>
    /// or by <see cref="PitchlyEmulator.InvalidateAccessTokens"/>.
    /// </summary>
    [JsonPropertyName("early_invalidations")]
    public long EarlyInvalidations { get; init; }

    /// <summary>Gets the number of subscription connections (<c>/subscriptions</c>) acknowledged after <c>connection_init</c>.</summary>
    [JsonPropertyName("subscription_connections")]
    public long SubscriptionConnections { get; init; }

    /// <summary>Gets the number of operations started over subscription connections (<c>subscribe</c> messages accepted).</summary>
    [JsonPropertyName("subscription_operations")]
    public long SubscriptionOperations { get; init; }

    /// <summary>Gets the number of subscription events sent (<c>next</c> messages of subscription operations).</summary>
    [JsonPropertyName("subscription_events")]
    public long SubscriptionEvents { get; init; }

    /// <summary>
    /// Gets the number of subscription connections closed with 4403 for their token: missing, invalid, expired or revoked
    /// at <c>connection_init</c>, or expired or revoked while open.
    /// </summary>
    [JsonPropertyName("subscription_token_rejections")]
    public long SubscriptionTokenRejections { get; init; }
}

using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>The emulator's log messages (event ids 9000–9099). None carries a token, code, verifier or secret.</summary>
internal static partial class EmulatorLog
{
    [LoggerMessage(9000, LogLevel.Information, "Authorization approved for person {PersonId} of organization {OrganizationId}, client {ClientId}")]
    public static partial void AuthorizationApproved(this ILogger logger, string personId, string organizationId, string clientId);

    [LoggerMessage(9001, LogLevel.Information, "Authorization denied by the user, client {ClientId}")]
    public static partial void AuthorizationDenied(this ILogger logger, string clientId);

    [LoggerMessage(9002, LogLevel.Warning, "Authorization request rejected: {Reason}")]
    public static partial void AuthorizationRejected(this ILogger logger, string reason);

    [LoggerMessage(9003, LogLevel.Debug, "Token grant {GrantType} succeeded for client {ClientId}, organization {OrganizationId}, person {PersonId}, family {FamilyId}")]
    public static partial void TokenGranted(this ILogger logger, string grantType, string clientId, string organizationId, string? personId, string? familyId);

    [LoggerMessage(9004, LogLevel.Information, "Token request failed with {Error} (HTTP {StatusCode}), grant {GrantType}: {Description}")]
    public static partial void TokenRequestFailed(this ILogger logger, string error, int statusCode, string? grantType, string description);

    [LoggerMessage(9005, LogLevel.Warning, "A spent refresh token of family {FamilyId} was presented again (strict mode: {Strict})")]
    public static partial void RefreshTokenReused(this ILogger logger, string familyId, bool strict);

    [LoggerMessage(9006, LogLevel.Warning, "Token family {FamilyId} revoked: {Reason}")]
    public static partial void FamilyRevoked(this ILogger logger, string familyId, string reason);

    [LoggerMessage(9007, LogLevel.Warning, "A redeemed authorization code of family {FamilyId} was presented again")]
    public static partial void AuthorizationCodeReplayed(this ILogger logger, string familyId);

    [LoggerMessage(9008, LogLevel.Information, "Injected token endpoint fault {Fault}")]
    public static partial void FaultInjected(this ILogger logger, PitchlyEmulatorFault fault);

    [LoggerMessage(9009, LogLevel.Debug, "GraphQL request unauthenticated ({Placement}): {Reason}")]
    public static partial void GraphQLUnauthenticated(this ILogger logger, PitchlyEmulatorTokenPlacement placement, string reason);

    [LoggerMessage(9010, LogLevel.Debug, "Access token of organization {OrganizationId}, person {PersonId} invalidated early before a GraphQL request")]
    public static partial void EarlyInvalidation(this ILogger logger, string organizationId, string? personId);

    [LoggerMessage(9011, LogLevel.Information, "{Count} live access tokens invalidated (person filter: {PersonId})")]
    public static partial void AccessTokensInvalidated(this ILogger logger, int count, string? personId);

    [LoggerMessage(9012, LogLevel.Information, "Emulator settings changed")]
    public static partial void SettingsChanged(this ILogger logger);

    [LoggerMessage(9013, LogLevel.Information, "Pitchly emulator listening on {BaseAddress}")]
    public static partial void ServerStarted(this ILogger logger, Uri baseAddress);

    [LoggerMessage(9014, LogLevel.Information, "No Pitchly client is configured: the app runs on the embedded Pitchly emulator at {BaseAddress}")]
    public static partial void RunningOnEmbeddedEmulator(this ILogger logger, Uri baseAddress);

    [LoggerMessage(9015, LogLevel.Debug, "GraphQL request rejected with {StatusCode}: {Reason}")]
    public static partial void GraphQLBadRequest(this ILogger logger, int statusCode, string reason);

    [LoggerMessage(9016, LogLevel.Warning, "The Pitchly emulator listens on {Address}, which other machines can reach (Pitchly:Emulator:AllowRemote is set): anyone who reaches it can sign in as anyone and obtain tokens of every organization with the published default client secret")]
    public static partial void ListeningRemotely(this ILogger logger, string address);

    [LoggerMessage(9017, LogLevel.Critical, "The Pitchly emulator refuses to serve on {Address}, which is not a loopback address; set Pitchly:Emulator:AllowRemote (the tool: --allow-remote) to allow it")]
    public static partial void RemoteBindingRefused(this ILogger logger, string address);

    [LoggerMessage(9018, LogLevel.Warning, "Emulator request refused with {StatusCode}: {Reason}")]
    public static partial void RequestRefused(this ILogger logger, int statusCode, string reason);

    [LoggerMessage(9019, LogLevel.Information, "A subscription connection reached its {Limit} active operations; subscribe {OperationId} refused")]
    public static partial void SubscriptionOperationLimit(this ILogger logger, int limit, string operationId);

    [LoggerMessage(9020, LogLevel.Warning, "A subscription connection's send queue passed {Limit} messages: the client reads too slowly, the connection is closed")]
    public static partial void SubscriptionSendQueueFull(this ILogger logger, int limit);

    [LoggerMessage(9021, LogLevel.Debug, "Request body refused: larger than {Limit} bytes")]
    public static partial void RequestBodyTooLarge(this ILogger logger, long limit);

    [LoggerMessage(9050, LogLevel.Debug, "Subscription connection refused its token (closed with 4403): {Reason}")]
    public static partial void SubscriptionTokenRejected(this ILogger logger, string reason);

    [LoggerMessage(9051, LogLevel.Debug, "Subscription connection closed by the emulator with {CloseCode}: {Reason}")]
    public static partial void SubscriptionConnectionClosed(this ILogger logger, int closeCode, string reason);

    [LoggerMessage(9052, LogLevel.Error, "A subscription connection's operation failed; the connection is closed with 4500")]
    public static partial void SubscriptionOperationFailed(this ILogger logger, Exception exception);
}

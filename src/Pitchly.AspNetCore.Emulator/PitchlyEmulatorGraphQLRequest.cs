namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// What the emulator's GraphQL endpoint saw in one request: who the credential resolved to and where it was placed.
/// It never holds the credential itself.
/// </summary>
/// <param name="Timestamp">When the request was handled.</param>
/// <param name="OperationType">The operation type (<c>query</c> or <c>mutation</c>), or <see langword="null"/> when the request did not parse.</param>
/// <param name="OperationName">The operation's name, when it has one.</param>
/// <param name="Placement">Where the credential was placed.</param>
/// <param name="CredentialKind">What kind of credential it was.</param>
/// <param name="PersonId">The person the credential resolved to; <see langword="null"/> for app-level credentials.</param>
/// <param name="OrganizationId">The organization (install) the credential resolved to.</param>
/// <param name="ClientId">The client the credential was issued to, when known.</param>
/// <param name="ErrorCode">
/// <see langword="null"/> when the request was authenticated and raised no error; otherwise the first error's code
/// (for example <c>UNAUTHENTICATED</c>, <c>FORBIDDEN</c> or <c>GRAPHQL_VALIDATION_FAILED</c>).
/// </param>
public sealed record PitchlyEmulatorGraphQLRequest(
    DateTimeOffset Timestamp,
    string? OperationType,
    string? OperationName,
    PitchlyEmulatorTokenPlacement Placement,
    PitchlyEmulatorCredentialKind CredentialKind,
    string? PersonId,
    string? OrganizationId,
    string? ClientId,
    string? ErrorCode)
{
    /// <summary>Gets whether the credential was accepted.</summary>
    public bool Authenticated => CredentialKind != PitchlyEmulatorCredentialKind.None && OrganizationId is not null;
}

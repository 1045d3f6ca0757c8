namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Whom an authenticated GraphQL request acts for.</summary>
internal sealed record RequestIdentity(
    PitchlyEmulatorCredentialKind Kind,
    string? ClientId,
    string OrganizationId,
    string? PersonId,
    string Scope)
{
    public bool CanWrite => Scope.Split(' ').Contains(PitchlyEmulatorDefaults.WriteScope, StringComparer.Ordinal);
}

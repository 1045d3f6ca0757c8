namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>Whom a token speaks for: a person of an organization, or an install (organization) when <see cref="PersonId"/> is null.</summary>
internal sealed record TokenSubject(PitchlyEmulatorCredentialKind Kind, string? ClientId, string OrganizationId, string? PersonId);

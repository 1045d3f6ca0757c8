namespace Pitchly.AspNetCore.Emulator;

/// <summary>A person the emulator knows; the consent page offers to sign in as any of them.</summary>
/// <param name="PersonId">The person's id (<c>psn…</c>, 20 characters).</param>
/// <param name="OrganizationId">The id of the one organization the person belongs to (<c>org…</c>, 20 characters).</param>
/// <param name="Name">The person's display name.</param>
/// <param name="Email">The person's e-mail address.</param>
/// <param name="Image">The URL of the person's picture.</param>
public sealed record PitchlyEmulatorUser(string PersonId, string OrganizationId, string Name, string Email, string Image);

namespace Pitchly.Samples.Shared;

/// <summary>The organization the current token belongs to, as Pitchly describes it.</summary>
/// <param name="Id">The organization id, when Pitchly returned it.</param>
/// <param name="Name">The organization's name, when Pitchly returned it.</param>
/// <param name="Problems">GraphQL errors and unexpected answers, one readable line each.</param>
public sealed record OrganizationResult(string? Id, string? Name, IReadOnlyList<string> Problems);

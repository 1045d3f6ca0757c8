namespace Pitchly.Samples.Shared;

/// <summary>What the <c>/data</c> page shows: the legacy databases, the current workspaces, and anything that went wrong.</summary>
/// <param name="OrganizationName">The organization's name, when Pitchly returned it.</param>
/// <param name="Databases">The legacy databases with their rows.</param>
/// <param name="Workspaces">The current-platform workspaces with their tables and records.</param>
/// <param name="Problems">GraphQL errors and unexpected answers, one readable line each.</param>
public sealed record DataViewModel(
    string? OrganizationName,
    IReadOnlyList<DatabaseView> Databases,
    IReadOnlyList<WorkspaceView> Workspaces,
    IReadOnlyList<string> Problems);

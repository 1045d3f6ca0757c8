namespace Pitchly.Samples.Shared;

/// <summary>A current-platform workspace with its tables.</summary>
/// <param name="Id">The workspace id.</param>
/// <param name="Name">The workspace's name.</param>
/// <param name="Tables">The workspace's tables.</param>
public sealed record WorkspaceView(string Id, string Name, IReadOnlyList<TableView> Tables);

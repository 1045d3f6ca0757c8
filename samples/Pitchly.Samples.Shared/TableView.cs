namespace Pitchly.Samples.Shared;

/// <summary>A current-platform table with its fields and records.</summary>
/// <param name="Id">The table id.</param>
/// <param name="Name">The table's name.</param>
/// <param name="Fields">The table's fields.</param>
/// <param name="Records">The table's records.</param>
public sealed record TableView(string Id, string Name, IReadOnlyList<FieldView> Fields, IReadOnlyList<RecordView> Records);

namespace Pitchly.Samples.Shared;

/// <summary>A legacy Pitchly database with its fields and rows.</summary>
/// <param name="Id">The database id.</param>
/// <param name="Name">The database's name.</param>
/// <param name="Fields">The database's fields.</param>
/// <param name="Rows">The database's rows.</param>
public sealed record DatabaseView(string Id, string Name, IReadOnlyList<FieldView> Fields, IReadOnlyList<RecordView> Rows);

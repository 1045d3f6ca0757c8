namespace Pitchly.Samples.Shared;

/// <summary>Rows of a legacy database that changed, as a live page shows them.</summary>
/// <param name="Kind">What happened, as Pitchly names it (for example <c>INSERTED</c>, <c>UPDATED</c>, <c>DELETED</c>).</param>
/// <param name="RowIds">The ids of the rows that changed.</param>
/// <param name="Rows">The rows as they are after the change; empty for a deletion.</param>
public sealed record RowsChange(string Kind, IReadOnlyList<string> RowIds, IReadOnlyList<RecordView> Rows);

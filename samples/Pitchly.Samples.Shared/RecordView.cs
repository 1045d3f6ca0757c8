namespace Pitchly.Samples.Shared;

/// <summary>A legacy row or a current-platform record: its id and its cell values by field id.</summary>
/// <param name="Id">The row or record id.</param>
/// <param name="Values">Each cell's value as text, by field id.</param>
public sealed record RecordView(string Id, IReadOnlyDictionary<string, string> Values)
{
    /// <summary>Gets the text of the cell of <paramref name="fieldId"/>, or an empty string when the row has none.</summary>
    /// <param name="fieldId">The column's field id.</param>
    public string ValueOf(string fieldId) => Values.TryGetValue(fieldId, out var value) ? value : string.Empty;
}

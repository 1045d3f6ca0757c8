namespace Pitchly.Samples.Shared;

/// <summary>A column of a legacy database or a current-platform table.</summary>
/// <param name="Id">The field id.</param>
/// <param name="Name">The field's name.</param>
/// <param name="Type">The field's type, as Pitchly names it.</param>
public sealed record FieldView(string Id, string Name, string Type);

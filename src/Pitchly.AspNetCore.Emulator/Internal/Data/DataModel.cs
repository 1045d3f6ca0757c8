using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.Data;

/// <summary>One organization's data. Lists change only under <see cref="Sync"/>; readers take snapshots under it.</summary>
internal sealed class OrganizationData(string id, string name)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public Lock Sync { get; } = new();

    /// <summary>Gets the legacy databases.</summary>
    public List<TableData> Databases { get; } = [];

    public List<WorkspaceData> Workspaces { get; } = [];

    public TableData? FindDatabase(string id) => Databases.Find(d => d.Id == id);

    public TableData? FindTable(string id) =>
        Workspaces.SelectMany(w => w.Tables).FirstOrDefault(t => t.Id == id);
}

internal sealed class WorkspaceData(string id, string name)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public List<TableData> Tables { get; } = [];
}

/// <summary>A legacy database or a current-platform table: fields and rows (records) of cells.</summary>
internal sealed class TableData(string id, string name, IReadOnlyList<FieldData> fields)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public IReadOnlyList<FieldData> Fields { get; } = fields;

    public List<RowData> Rows { get; } = [];
}

internal sealed record FieldData(string Id, string Name, string Type);

/// <summary>A row (legacy) or record (current). Its cells are replaced whole, so readers never see a half update.</summary>
internal sealed class RowData(string id, IReadOnlyList<CellData> cells)
{
    private IReadOnlyList<CellData> _cells = cells;

    public string Id { get; } = id;

    public IReadOnlyList<CellData> Cells
    {
        get => Volatile.Read(ref _cells);
        set => Volatile.Write(ref _cells, value);
    }
}

/// <summary>A cell. Its value is never handed out: callers clone it.</summary>
internal sealed record CellData(string FieldId, JsonNode? Value);

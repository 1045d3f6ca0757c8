using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pitchly.Samples.Shared;

// The shapes of the samples' GraphQL answers. Everything is nullable: Pitchly may leave out or null any member
// (a field error nulls its field and keeps the rest), and the page shows what arrived.

internal sealed record OrganizationQueryData(OrganizationData? Organization);

internal sealed record OrganizationData(string? Id, string? Name);

internal sealed record DatabasesData(IReadOnlyList<DatabaseData?>? Databases);

internal sealed record DatabaseData(
    [property: JsonPropertyName("_id")] string? Id,
    string? Name,
    IReadOnlyList<LegacyFieldData?>? Fields,
    IReadOnlyList<RowData?>? Rows);

internal sealed record LegacyFieldData([property: JsonPropertyName("_id")] string? Id, string? Name, string? Type);

internal sealed record RowData([property: JsonPropertyName("_id")] string? Id, IReadOnlyList<CellData?>? Cols);

/// <summary>A cell: <see cref="Value"/> is any JSON (text, number, list…), shown as text.</summary>
internal sealed record CellData(string? FieldId, JsonElement Value);

internal sealed record WorkspacesData(OrganizationData? Organization, IReadOnlyList<WorkspaceData?>? Workspaces);

internal sealed record WorkspaceData(string? Id, string? Name, IReadOnlyList<TableData?>? Tables);

internal sealed record TableData(string? Id, string? Name, IReadOnlyList<FieldData?>? Fields, IReadOnlyList<RecordData?>? Records);

internal sealed record FieldData(string? Id, string? Name, string? Type);

internal sealed record RecordData(string? Id, IReadOnlyList<CellData?>? Fields);

internal sealed record RowMutationData(RowData? InsertRow, RowData? UpdateRow);

internal sealed record RowsChangedData(RowsChangedEventData? DataRowsChanged);

internal sealed record RowsChangedEventData(string? DatabaseId, string? Kind, IReadOnlyList<string?>? RowIds, IReadOnlyList<RowData?>? Rows);

/// <summary>Source-generated readers for the answers (no reflection, trimming-safe); camelCase names as Pitchly writes them.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OrganizationQueryData))]
[JsonSerializable(typeof(DatabasesData))]
[JsonSerializable(typeof(WorkspacesData))]
[JsonSerializable(typeof(RowMutationData))]
[JsonSerializable(typeof(RowsChangedData))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;

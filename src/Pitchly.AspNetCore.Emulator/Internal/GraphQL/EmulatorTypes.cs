using GraphQL.Types;
using Pitchly.AspNetCore.Emulator.Internal.Data;
using Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

// The object, interface, enum and input types of the emulator's schema. Legacy types (Database, Row, DatabaseField)
// and current-platform types (Workspace, Table, Record, TableField) read the same in-memory data.

internal sealed class NodeInterface : InterfaceGraphType
{
    public NodeInterface()
    {
        Name = "Node";
        Description = "An object of the current platform with a global id (the emulator's own interface).";
        Field<NonNullGraphType<IdGraphType>>("id");
    }
}

internal sealed class OrganizationType : ObjectGraphType<OrganizationData>
{
    public OrganizationType()
    {
        Name = "Organization";
        Interface<NodeInterface>();
        IsTypeOf = value => value is OrganizationData;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
    }
}

internal sealed class ViewerType : ObjectGraphType<RequestIdentity>
{
    public ViewerType()
    {
        Name = "Viewer";
        Field<PersonType>("person")
            .Description("The signed-in person; null for app-level tokens (installs, self-signed JWTs, secret keys).")
            .Resolve(c => c.Source.PersonId is { } id ? c.Emulator().Emulator.FindUser(id) : null);
    }
}

internal sealed class PersonType : ObjectGraphType<PitchlyEmulatorUser>
{
    public PersonType()
    {
        Name = "Person";
        Interface<NodeInterface>();
        IsTypeOf = value => value is PitchlyEmulatorUser;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.PersonId);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<StringGraphType>("email").Resolve(c => c.Source.Email);
        Field<StringGraphType>("image").Resolve(c => c.Source.Image);
    }
}

internal sealed class DatabaseType : ObjectGraphType<TableData>
{
    public DatabaseType()
    {
        Name = "Database";
        Description = "A legacy (v2) database.";
        Field<NonNullGraphType<IdGraphType>>("_id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<DatabaseFieldType>>>>("fields").Resolve(c => c.Source.Fields);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RowType>>>>("rows").Resolve(c => EmulatorData.Snapshot(c, c.Source.Rows));
    }
}

internal sealed class DatabaseFieldType : ObjectGraphType<FieldData>
{
    public DatabaseFieldType()
    {
        Name = "DatabaseField";
        Field<NonNullGraphType<IdGraphType>>("_id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("type").Resolve(c => c.Source.Type);
    }
}

internal sealed class RowType : ObjectGraphType<RowData>
{
    public RowType()
    {
        Name = "Row";
        Description = "A legacy (v2) row.";
        Field<NonNullGraphType<IdGraphType>>("_id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<CellType>>>>("cols").Resolve(c => c.Source.Cells);
    }
}

internal sealed class CellType : ObjectGraphType<CellData>
{
    public CellType()
    {
        Name = "Cell";
        Field<NonNullGraphType<IdGraphType>>("fieldId").Resolve(c => c.Source.FieldId);
        Field<JsonGraphType>("value").Resolve(c => c.Source.Value);
    }
}

internal sealed class WorkspaceType : ObjectGraphType<WorkspaceData>
{
    public WorkspaceType()
    {
        Name = "Workspace";
        Interface<NodeInterface>();
        IsTypeOf = value => value is WorkspaceData;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TableType>>>>("tables").Resolve(c => EmulatorData.Snapshot(c, c.Source.Tables));
    }
}

internal sealed class TableType : ObjectGraphType<TableData>
{
    public TableType()
    {
        Name = "Table";
        Interface<NodeInterface>();
        IsTypeOf = value => value is TableData;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TableFieldType>>>>("fields").Resolve(c => c.Source.Fields);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RecordType>>>>("records").Resolve(c => EmulatorData.Snapshot(c, c.Source.Rows));
    }
}

internal sealed class TableFieldType : ObjectGraphType<FieldData>
{
    public TableFieldType()
    {
        Name = "TableField";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<StringGraphType>>("type").Resolve(c => c.Source.Type);
    }
}

internal sealed class RecordType : ObjectGraphType<RowData>
{
    public RecordType()
    {
        Name = "Record";
        Interface<NodeInterface>();
        IsTypeOf = value => value is RowData;
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<CellType>>>>("fields").Resolve(c => c.Source.Cells);
    }
}

internal sealed class ChangeKindType : EnumerationGraphType<ChangeKind>
{
    public ChangeKindType()
    {
        Name = "ChangeKind";
        Description = "What happened to the rows or records of an event.";
    }
}

internal sealed class DataRowsChangedEventType : ObjectGraphType<DataChange>
{
    public DataRowsChangedEventType()
    {
        Name = "DataRowsChangedEvent";
        Description = "Rows of a legacy database were inserted, updated or deleted.";
        Field<NonNullGraphType<IdGraphType>>("databaseId").Resolve(c => c.Source.Table.Id);
        Field<NonNullGraphType<ChangeKindType>>("kind").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<IdGraphType>>>>("rowIds").Resolve(c => c.Source.RowIds);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RowType>>>>("rows")
            .Description("The rows as they are after the change; empty for a deletion.")
            .Resolve(c => c.Source.Rows);
    }
}

internal sealed class RecordsChangedEventType : ObjectGraphType<DataChange>
{
    public RecordsChangedEventType()
    {
        Name = "RecordsChangedEvent";
        Description = "Records of a table were inserted, updated or deleted (the emulator's own event).";
        Field<NonNullGraphType<IdGraphType>>("tableId").Resolve(c => c.Source.Table.Id);
        Field<NonNullGraphType<ChangeKindType>>("kind").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<IdGraphType>>>>("recordIds").Resolve(c => c.Source.RowIds);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RecordType>>>>("records")
            .Description("The records as they are after the change; empty for a deletion.")
            .Resolve(c => c.Source.Rows);
    }
}

internal sealed class CellInputType : InputObjectGraphType
{
    public CellInputType()
    {
        Name = "CellInput";
        Description = "A cell to write: the field's id and its new value.";
        Field<NonNullGraphType<IdGraphType>>("fieldId");
        Field<JsonGraphType>("value");
    }
}

internal sealed class RowInputType : InputObjectGraphType
{
    public RowInputType()
    {
        Name = "RowInput";
        Description = "A legacy row's cells to write; cells not named keep their values.";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<CellInputType>>>>("cols");
    }
}

internal sealed class RecordInputType : InputObjectGraphType
{
    public RecordInputType()
    {
        Name = "RecordInput";
        Description = "A record to update: its id and the fields to write; fields not named keep their values.";
        Field<NonNullGraphType<IdGraphType>>("id");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<CellInputType>>>>("fields");
    }
}

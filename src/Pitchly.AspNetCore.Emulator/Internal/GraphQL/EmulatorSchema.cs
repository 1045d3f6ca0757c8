using System.Text.Json.Nodes;
using Pitchly.AspNetCore.Emulator.Internal.Data;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// The part of Pitchly's schema the emulator serves: the identity query, the legacy databases/rows API and the
/// current workspaces/tables/records API, over the requesting organization's in-memory data.
/// </summary>
internal static class EmulatorSchema
{
    public static GraphQLSchema Instance { get; } = Build();

    private static GraphQLSchema Build()
    {
        var schema = new GraphQLSchema();

        schema.Type("Query")
            .Field("organization", "Organization", c => c.Organization)
            .Field("viewer", "Viewer", c => c.Identity)
            .Field("databases", "[Database]", Databases, "accessToken", "secretKey", "organizationId")
            .Field("rows", "[Row]", c => Snapshot(c, Database(c).Rows), "databaseId", "accessToken", "secretKey")
            .Field("workspaces", "[Workspace]", c => Snapshot(c, c.Organization.Workspaces))
            .Field("workspace", "Workspace", c => Locked(c, o => o.Workspaces.Find(w => w.Id == c.RequiredString("id"))), "id")
            .Field("table", "Table", c => Locked(c, o => o.FindTable(c.RequiredString("id"))), "id");

        schema.Type("Mutation")
            .Field("insertRow", "Row", InsertRow, "databaseId", "row", "accessToken", "secretKey")
            .Field("updateRow", "Row", UpdateRow, "databaseId", "rowId", "row", "accessToken", "secretKey")
            .Field("deleteRow", "Boolean", DeleteRow, "databaseId", "rowId", "accessToken", "secretKey")
            .Field("updateRecords", "[Record]", UpdateRecords, "tableId", "records");

        schema.Type("Organization")
            .Field("id", "ID", c => c.Parent<OrganizationData>().Id)
            .Field("name", "String", c => c.Parent<OrganizationData>().Name);

        schema.Type("Viewer")
            .Field("person", "Person", c => c.Parent<RequestIdentity>().PersonId is { } id ? c.FindUser(id) : null);

        schema.Type("Person")
            .Field("id", "ID", c => c.Parent<PitchlyEmulatorUser>().PersonId)
            .Field("name", "String", c => c.Parent<PitchlyEmulatorUser>().Name)
            .Field("email", "String", c => c.Parent<PitchlyEmulatorUser>().Email)
            .Field("image", "String", c => c.Parent<PitchlyEmulatorUser>().Image);

        schema.Type("Database")
            .Field("_id", "ID", c => c.Parent<TableData>().Id)
            .Field("name", "String", c => c.Parent<TableData>().Name)
            .Field("fields", "[DatabaseField]", c => c.Parent<TableData>().Fields)
            .Field("rows", "[Row]", c => Snapshot(c, c.Parent<TableData>().Rows));

        schema.Type("DatabaseField")
            .Field("_id", "ID", c => c.Parent<FieldData>().Id)
            .Field("name", "String", c => c.Parent<FieldData>().Name)
            .Field("type", "String", c => c.Parent<FieldData>().Type);

        schema.Type("Row")
            .Field("_id", "ID", c => c.Parent<RowData>().Id)
            .Field("cols", "[Cell]", c => c.Parent<RowData>().Cells);

        schema.Type("Cell")
            .Field("fieldId", "ID", c => c.Parent<CellData>().FieldId)
            .Field("value", "JSON", c => c.Parent<CellData>().Value);

        schema.Type("Workspace")
            .Field("id", "ID", c => c.Parent<WorkspaceData>().Id)
            .Field("name", "String", c => c.Parent<WorkspaceData>().Name)
            .Field("tables", "[Table]", c => Snapshot(c, c.Parent<WorkspaceData>().Tables));

        schema.Type("Table")
            .Field("id", "ID", c => c.Parent<TableData>().Id)
            .Field("name", "String", c => c.Parent<TableData>().Name)
            .Field("fields", "[TableField]", c => c.Parent<TableData>().Fields)
            .Field("records", "[Record]", c => Snapshot(c, c.Parent<TableData>().Rows));

        schema.Type("TableField")
            .Field("id", "ID", c => c.Parent<FieldData>().Id)
            .Field("name", "String", c => c.Parent<FieldData>().Name)
            .Field("type", "String", c => c.Parent<FieldData>().Type);

        schema.Type("Record")
            .Field("id", "ID", c => c.Parent<RowData>().Id)
            .Field("fields", "[Cell]", c => c.Parent<RowData>().Cells);

        return schema;
    }

    private static object Databases(ResolveContext c)
    {
        var organizationId = c.OptionalString("organizationId");
        if (organizationId is not null && organizationId != c.Organization.Id)
        {
            throw new GraphQLFieldException(GraphQLErrorCodes.Forbidden, "Not authorized: the token does not belong to that organization.");
        }

        return Snapshot(c, c.Organization.Databases);
    }

    private static RowData InsertRow(ResolveContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var row = new RowData(SeedData.NewId(), MergeCells([], c.Argument("row")?["cols"], database, "row.cols"));
        lock (c.Organization.Sync)
        {
            database.Rows.Add(row);
        }

        return row;
    }

    private static RowData UpdateRow(ResolveContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var row = Row(c, database, c.RequiredString("rowId"));
        lock (c.Organization.Sync)
        {
            row.Cells = MergeCells(row.Cells, c.Argument("row")?["cols"], database, "row.cols");
        }

        return row;
    }

    private static object DeleteRow(ResolveContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var row = Row(c, database, c.RequiredString("rowId"));
        lock (c.Organization.Sync)
        {
            return database.Rows.Remove(row);
        }
    }

    private static List<RowData> UpdateRecords(ResolveContext c)
    {
        c.RequireWrite();
        var tableId = c.RequiredString("tableId");
        var table = Locked(c, o => o.FindTable(tableId))
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Table \"{tableId}\" was not found.");
        if (c.Argument("records") is not JsonArray records)
        {
            throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, "Argument \"records\" must be a list of {id, fields}.");
        }

        lock (c.Organization.Sync)
        {
            // Check every record before changing any, so that a bad one changes nothing.
            var updates = records.Select(record =>
            {
                var id = (record as JsonObject)?["id"]?.GetValueKind() == System.Text.Json.JsonValueKind.String
                    ? record!["id"]!.GetValue<string>()
                    : throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, "Every record needs a string \"id\".");
                var row = table.Rows.Find(r => r.Id == id)
                    ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Record \"{id}\" was not found in table \"{tableId}\".");
                return (Row: row, Cells: MergeCells(row.Cells, record["fields"], table, "records.fields"));
            }).ToList();

            foreach (var (row, cells) in updates)
            {
                row.Cells = cells;
            }

            return updates.ConvertAll(update => update.Row);
        }
    }

    private static TableData Database(ResolveContext c)
    {
        var id = c.RequiredString("databaseId");
        return Locked(c, o => o.FindDatabase(id))
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Database \"{id}\" was not found.");
    }

    private static RowData Row(ResolveContext c, TableData database, string rowId) =>
        Locked(c, _ => database.Rows.Find(r => r.Id == rowId))
        ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Row \"{rowId}\" was not found in database \"{database.Id}\".");

    /// <summary>Replaces the cells named in <paramref name="input"/> (a list of <c>{fieldId, value}</c>) and keeps the others.</summary>
    private static CellData[] MergeCells(IReadOnlyList<CellData> current, JsonNode? input, TableData table, string argument)
    {
        if (input is not JsonArray cells)
        {
            throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Argument \"{argument}\" must be a list of {{fieldId, value}}.");
        }

        var merged = current.ToList();
        foreach (var cell in cells)
        {
            var fieldId = (cell as JsonObject)?["fieldId"] is JsonValue id && id.TryGetValue<string>(out var text)
                ? text
                : throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Every item of \"{argument}\" needs a string \"fieldId\".");
            if (!table.Fields.Any(f => f.Id == fieldId))
            {
                throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Field \"{fieldId}\" does not exist in \"{table.Name}\".");
            }

            merged.RemoveAll(c => c.FieldId == fieldId);
            merged.Add(new CellData(fieldId, cell!["value"]?.DeepClone()));
        }

        return [.. merged];
    }

    private static T[] Snapshot<T>(ResolveContext c, List<T> items)
    {
        lock (c.Organization.Sync)
        {
            return [.. items];
        }
    }

    private static T? Locked<T>(ResolveContext c, Func<OrganizationData, T?> read)
    {
        lock (c.Organization.Sync)
        {
            return read(c.Organization);
        }
    }
}

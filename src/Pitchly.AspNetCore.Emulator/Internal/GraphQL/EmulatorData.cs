using System.Collections;
using GraphQL;
using Pitchly.AspNetCore.Emulator.Internal.Data;
using Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// Reads and changes an organization's in-memory data for the resolvers. Lists change only under the organization's
/// lock; readers take snapshots under it. Every change raises its event after the lock is released.
/// </summary>
internal static class EmulatorData
{
    public static T[] Snapshot<T>(IResolveFieldContext c, List<T> items)
    {
        lock (c.Organization().Sync)
        {
            return [.. items];
        }
    }

    public static T? Locked<T>(IResolveFieldContext c, Func<OrganizationData, T?> read)
    {
        var organization = c.Organization();
        lock (organization.Sync)
        {
            return read(organization);
        }
    }

    public static object Databases(IResolveFieldContext c)
    {
        var organizationId = c.GetArgument<string?>("organizationId");
        if (organizationId is not null && organizationId != c.Organization().Id)
        {
            throw new GraphQLFieldException(GraphQLErrorCodes.Forbidden, "Not authorized: the token does not belong to that organization.");
        }

        return Snapshot(c, c.Organization().Databases);
    }

    public static object? Node(IResolveFieldContext c)
    {
        var id = c.GetArgument<string>("id");
        var organization = c.Organization();
        if (id == organization.Id)
        {
            return organization;
        }

        if (c.Emulator().Emulator.FindUser(id) is { } person)
        {
            return person.OrganizationId == organization.Id ? person : null;
        }

        return Locked<object>(c, o =>
            (object?)o.Workspaces.Find(w => w.Id == id)
            ?? (object?)o.FindTable(id)
            ?? o.Workspaces.SelectMany(w => w.Tables).SelectMany(t => t.Rows).FirstOrDefault(r => r.Id == id));
    }

    public static TableData Database(IResolveFieldContext c)
    {
        var id = c.GetArgument<string>("databaseId");
        return Locked(c, o => o.FindDatabase(id))
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Database \"{id}\" was not found.");
    }

    public static TableData Table(IResolveFieldContext c)
    {
        var id = c.GetArgument<string>("tableId");
        return Locked(c, o => o.FindTable(id))
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Table \"{id}\" was not found.");
    }

    public static RowData InsertRow(IResolveFieldContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var row = new RowData(SeedData.NewId(), MergeCells([], Cells(c.GetArgument<object>("row"), "cols"), database, "row.cols"));
        lock (c.Organization().Sync)
        {
            database.Rows.Add(row);
        }

        RaiseRowsChanged(c, database, ChangeKind.Inserted, [row]);
        return row;
    }

    public static RowData UpdateRow(IResolveFieldContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var rowId = c.GetArgument<string>("rowId");
        var row = FindRow(c, database, rowId)
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Row \"{rowId}\" was not found in database \"{database.Id}\".");
        lock (c.Organization().Sync)
        {
            row.Cells = MergeCells(row.Cells, Cells(c.GetArgument<object>("row"), "cols"), database, "row.cols");
        }

        RaiseRowsChanged(c, database, ChangeKind.Updated, [row]);
        return row;
    }

    public static RowData UpsertRow(IResolveFieldContext c)
    {
        var rowId = c.GetArgument<string?>("rowId");
        if (rowId is not null && FindRow(c, Database(c), rowId) is not null)
        {
            return UpdateRow(c);
        }

        return InsertRow(c);
    }

    public static bool DeleteRow(IResolveFieldContext c)
    {
        c.RequireWrite();
        var database = Database(c);
        var rowId = c.GetArgument<string>("rowId");
        var row = FindRow(c, database, rowId)
            ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Row \"{rowId}\" was not found in database \"{database.Id}\".");
        bool removed;
        lock (c.Organization().Sync)
        {
            removed = database.Rows.Remove(row);
        }

        if (removed)
        {
            c.Emulator().Emulator.Events.Publish(new DataChange(c.Organization().Id, database, ChangeKind.Deleted, [], [row.Id]));
        }

        return removed;
    }

    public static List<RowData> UpdateRecords(IResolveFieldContext c)
    {
        c.RequireWrite();
        var table = Table(c);
        var records = (IEnumerable)c.GetArgument<object>("records");
        List<RowData> changed;
        lock (c.Organization().Sync)
        {
            // Check every record before changing any, so that a bad one changes nothing.
            var updates = records.Cast<IDictionary<string, object?>>().Select(record =>
            {
                var id = (string)record["id"]!;
                var row = table.Rows.Find(r => r.Id == id)
                    ?? throw new GraphQLFieldException(GraphQLErrorCodes.NotFound, $"Record \"{id}\" was not found in table \"{table.Id}\".");
                return (Row: row, Cells: MergeCells(row.Cells, Cells(record, "fields"), table, "records.fields"));
            }).ToList();

            foreach (var (row, cells) in updates)
            {
                row.Cells = cells;
            }

            changed = updates.ConvertAll(update => update.Row);
        }

        c.Emulator().Emulator.Events.Publish(new DataChange(c.Organization().Id, table, ChangeKind.Updated, changed, [.. changed.Select(r => r.Id)]));
        return changed;
    }

    /// <summary>Replaces the cells named in <paramref name="input"/> (<c>{fieldId, value}</c> objects) and keeps the others.</summary>
    public static CellData[] MergeCells(IReadOnlyList<CellData> current, IEnumerable<IDictionary<string, object?>> input, TableData table, string argument)
    {
        var merged = current.ToList();
        foreach (var cell in input)
        {
            var fieldId = (string)cell["fieldId"]!;
            if (!table.Fields.Any(f => f.Id == fieldId))
            {
                throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Field \"{fieldId}\" of \"{argument}\" does not exist in \"{table.Name}\".");
            }

            merged.RemoveAll(c => c.FieldId == fieldId);
            merged.Add(new CellData(fieldId, JsonGraphType.ToNode(cell.TryGetValue("value", out var value) ? value : null)));
        }

        return [.. merged];
    }

    private static IEnumerable<IDictionary<string, object?>> Cells(object input, string member) =>
        ((IEnumerable)((IDictionary<string, object?>)input)[member]!).Cast<IDictionary<string, object?>>();

    private static RowData? FindRow(IResolveFieldContext c, TableData table, string rowId) =>
        Locked(c, _ => table.Rows.Find(r => r.Id == rowId));

    private static void RaiseRowsChanged(IResolveFieldContext c, TableData table, ChangeKind kind, RowData[] rows) =>
        c.Emulator().Emulator.Events.Publish(new DataChange(c.Organization().Id, table, kind, rows, [.. rows.Select(r => r.Id)]));
}

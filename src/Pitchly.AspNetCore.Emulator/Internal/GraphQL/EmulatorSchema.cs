using GraphQL;
using GraphQL.Types;
using Pitchly.AspNetCore.Emulator.Internal.Data;
using Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// The part of Pitchly's schema the emulator serves, one schema for both generations: the identity query, the legacy
/// databases/rows API (with its <c>accessToken</c>/<c>secretKey</c> arguments) and the current workspaces/tables/records
/// API, over the requesting organization's in-memory data; mutations that change it and subscriptions to the changes.
/// </summary>
internal sealed class EmulatorSchema : Schema
{
    private EmulatorSchema()
    {
        Query = new QueryType();
        Mutation = new MutationType();
        Subscription = new SubscriptionType();
        Description = "The Pitchly emulator's GraphQL schema.";
    }

    /// <summary>Gets the schema, initialized once: it holds no state (resolvers read the operation's user context).</summary>
    public static EmulatorSchema Instance { get; } = Create();

    private static EmulatorSchema Create()
    {
        var schema = new EmulatorSchema();
        schema.Initialize();
        return schema;
    }
}

internal sealed class QueryType : ObjectGraphType
{
    public QueryType()
    {
        Name = "Query";
        Field<NonNullGraphType<OrganizationType>>("organization").Resolve(c => c.Organization());
        Field<NonNullGraphType<ViewerType>>("viewer").Resolve(c => c.Identity());
        Field<ListGraphType<NonNullGraphType<DatabaseType>>>("databases")
            .Description("The organization's legacy databases.")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Argument<IdGraphType>("organizationId")
            .Resolve(EmulatorData.Databases);
        Field<ListGraphType<NonNullGraphType<RowType>>>("rows")
            .Description("A legacy database's rows.")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Resolve(c => EmulatorData.Snapshot(c, EmulatorData.Database(c).Rows));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<WorkspaceType>>>>("workspaces")
            .Resolve(c => EmulatorData.Snapshot(c, c.Organization().Workspaces));
        Field<WorkspaceType>("workspace")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Resolve(c => EmulatorData.Locked(c, o => o.Workspaces.Find(w => w.Id == c.GetArgument<string>("id"))));
        Field<TableType>("table")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Resolve(c => EmulatorData.Locked(c, o => o.FindTable(c.GetArgument<string>("id"))));
        Field<NodeInterface>("node")
            .Description("The organization, a person, workspace, table or record by its id (the emulator's own field).")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .Resolve(EmulatorData.Node);
    }
}

internal sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Field<RowType>("insertRow")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .Argument<NonNullGraphType<RowInputType>>("row")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Resolve(EmulatorData.InsertRow);
        Field<RowType>("updateRow")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .Argument<NonNullGraphType<IdGraphType>>("rowId")
            .Argument<NonNullGraphType<RowInputType>>("row")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Resolve(EmulatorData.UpdateRow);
        Field<RowType>("upsertRow")
            .Description("Updates the row when rowId names one of the database's rows, inserts a new row otherwise.")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .Argument<IdGraphType>("rowId")
            .Argument<NonNullGraphType<RowInputType>>("row")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Resolve(EmulatorData.UpsertRow);
        Field<BooleanGraphType>("deleteRow")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .Argument<NonNullGraphType<IdGraphType>>("rowId")
            .Argument<StringGraphType>("accessToken")
            .Argument<StringGraphType>("secretKey")
            .Resolve(c => EmulatorData.DeleteRow(c));
        Field<ListGraphType<NonNullGraphType<RecordType>>>("updateRecords")
            .Description("Updates records of a table, all or nothing.")
            .Argument<NonNullGraphType<IdGraphType>>("tableId")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<RecordInputType>>>>("records")
            .Resolve(EmulatorData.UpdateRecords);
    }
}

internal sealed class SubscriptionType : ObjectGraphType
{
    public SubscriptionType()
    {
        Name = "Subscription";
        Field<NonNullGraphType<DataRowsChangedEventType>>("dataRowsChanged")
            .Description("Rows of a legacy database were inserted, updated or deleted.")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .ResolveStream(c => Stream(c, EmulatorData.Database(c), change => change));
        Field<NonNullGraphType<DatabaseType>>("databaseUpdated")
            .Description("A legacy database changed (its rows included); the event is the database as it is now.")
            .Argument<NonNullGraphType<IdGraphType>>("databaseId")
            .ResolveStream(c => Stream(c, EmulatorData.Database(c), change => change.Table));
        Field<NonNullGraphType<RecordsChangedEventType>>("recordsChanged")
            .Description("Records of a current-platform table were inserted, updated or deleted (the emulator's own name).")
            .Argument<NonNullGraphType<IdGraphType>>("tableId")
            .ResolveStream(c => Stream(c, EmulatorData.Table(c), change => change));
    }

    private static IObservable<object?> Stream(IResolveFieldContext c, TableData table, Func<DataChange, object?> project) =>
        c.Emulator().Emulator.Events.Watch(c.Organization().Id, table.Id, project);
}

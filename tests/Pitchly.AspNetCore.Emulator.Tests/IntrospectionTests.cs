using System.Text.Json.Nodes;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>
/// The standard introspection query (graphql-js <c>getIntrospectionQuery()</c>, stored as a resource) returns a schema a
/// client can rebuild: every type, field, argument, input field, enum value, directive, interface and possible type, with
/// every type reference resolving to a type of the result.
/// </summary>
public sealed class IntrospectionTests
{
    private static readonly string IntrospectionQuery = ReadResource("IntrospectionQuery.graphql");

    [Fact]
    public async Task The_standard_introspection_query_describes_the_whole_schema()
    {
        await using var host = await StartAsync();

        var response = await host.GraphQLAsync(IntrospectionQuery);

        Assert.Null(response["errors"]);
        var schema = response["data"]!["__schema"]!;
        Assert.Equal("Query", schema["queryType"]!["name"]!.GetValue<string>());
        Assert.Equal("Mutation", schema["mutationType"]!["name"]!.GetValue<string>());
        Assert.Equal("Subscription", schema["subscriptionType"]!["name"]!.GetValue<string>());
        var types = schema["types"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!.AsObject());

        // Types of every kind.
        string[] expected =
        [
            "Query", "Mutation", "Subscription", "Organization", "Viewer", "Person", "Database", "DatabaseField", "Row", "Cell",
            "Workspace", "Table", "TableField", "Record", "DataRowsChangedEvent", "RecordsChangedEvent", "Node", "ChangeKind",
            "RowInput", "CellInput", "RecordInput", "JSON", "ID", "String", "Boolean", "__Schema", "__Type", "__TypeKind",
            "__Field", "__InputValue", "__EnumValue", "__Directive", "__DirectiveLocation",
        ];
        Assert.All(expected, name => Assert.True(types.ContainsKey(name), $"type {name} is missing"));
        Assert.Equal("INTERFACE", Kind(types["Node"]));
        Assert.Equal("ENUM", Kind(types["ChangeKind"]));
        Assert.Equal("INPUT_OBJECT", Kind(types["RowInput"]));
        Assert.Equal("SCALAR", Kind(types["JSON"]));

        // Fields and their arguments, with ofType chains.
        var databases = Field(types["Query"], "databases");
        Assert.Equal(["accessToken", "secretKey", "organizationId"], Names(databases["args"]!));
        Assert.Equal("LIST(NON_NULL(OBJECT Database))", TypeOf(databases["type"]!));
        var insertRow = Field(types["Mutation"], "insertRow");
        Assert.Equal(["databaseId", "row", "accessToken", "secretKey"], Names(insertRow["args"]!));
        Assert.Equal("NON_NULL(INPUT_OBJECT RowInput)", TypeOf(Arg(insertRow, "row")["type"]!));
        Assert.Equal("NON_NULL(SCALAR ID)", TypeOf(Arg(insertRow, "databaseId")["type"]!));
        Assert.Equal(
            "NON_NULL(LIST(NON_NULL(INPUT_OBJECT RecordInput)))",
            TypeOf(Arg(Field(types["Mutation"], "updateRecords"), "records")["type"]!));
        Assert.Equal(["dataRowsChanged", "databaseUpdated", "recordsChanged"], Names(types["Subscription"]["fields"]!));
        Assert.Equal("NON_NULL(LIST(NON_NULL(OBJECT Row)))", TypeOf(Field(types["Database"], "rows")["type"]!));

        // Input fields, enum values, interfaces and possible types.
        Assert.Equal(["cols"], Names(types["RowInput"]["inputFields"]!));
        Assert.Equal("NON_NULL(LIST(NON_NULL(INPUT_OBJECT CellInput)))", TypeOf(types["RowInput"]["inputFields"]![0]!["type"]!));
        Assert.Equal(["fieldId", "value"], Names(types["CellInput"]["inputFields"]!));
        Assert.Equal(["INSERTED", "UPDATED", "DELETED"], Names(types["ChangeKind"]["enumValues"]!));
        Assert.Contains("OBJECT", Names(types["__TypeKind"]["enumValues"]!));
        Assert.Equal(["Node"], Names(types["Table"]["interfaces"]!));
        Assert.Equal(
            ["Organization", "Person", "Record", "Table", "Workspace"],
            Names(types["Node"]["possibleTypes"]!).Order(StringComparer.Ordinal));
        Assert.Empty(types["Row"]["interfaces"]!.AsArray());

        // Directives.
        var directives = schema["directives"]!.AsArray().ToDictionary(d => d!["name"]!.GetValue<string>(), d => d!);
        Assert.True(directives.ContainsKey("include") && directives.ContainsKey("skip") && directives.ContainsKey("deprecated"));
        Assert.Equal("NON_NULL(SCALAR Boolean)", TypeOf(directives["skip"]["args"]!.AsArray().Single(a => a!["name"]!.GetValue<string>() == "if")!["type"]!));
        Assert.Equal(
            ["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
            directives["include"]["locations"]!.AsArray().Select(l => l!.GetValue<string>()).Order(StringComparer.Ordinal));

        // Every named type reference resolves, as graphql-js buildClientSchema requires.
        foreach (var type in types.Values)
        {
            foreach (var member in new[] { "fields", "inputFields" })
            {
                foreach (var field in type[member]?.AsArray() ?? [])
                {
                    AssertResolves(types, field!["type"]!, $"{type["name"]}.{field["name"]}");
                    foreach (var argument in field["args"]?.AsArray() ?? [])
                    {
                        AssertResolves(types, argument!["type"]!, $"{type["name"]}.{field["name"]}({argument["name"]})");
                    }
                }
            }

            foreach (var reference in (type["interfaces"]?.AsArray() ?? []).Concat(type["possibleTypes"]?.AsArray() ?? []))
            {
                AssertResolves(types, reference!, $"{type["name"]}");
            }
        }
    }

    private static string Kind(JsonNode type) => type["kind"]!.GetValue<string>();

    private static JsonNode Field(JsonNode type, string name) =>
        type["fields"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == name)!;

    private static JsonNode Arg(JsonNode field, string name) =>
        field["args"]!.AsArray().Single(a => a!["name"]!.GetValue<string>() == name)!;

    private static string[] Names(JsonNode list) => [.. list.AsArray().Select(item => item!["name"]!.GetValue<string>())];

    /// <summary>Writes a type reference's ofType chain, e.g. <c>NON_NULL(LIST(OBJECT Row))</c>.</summary>
    private static string TypeOf(JsonNode reference) => Kind(reference) switch
    {
        "NON_NULL" or "LIST" => $"{Kind(reference)}({TypeOf(reference["ofType"]!)})",
        var kind => $"{kind} {reference["name"]!.GetValue<string>()}",
    };

    private static void AssertResolves(Dictionary<string, JsonObject> types, JsonNode reference, string where)
    {
        while (Kind(reference) is "NON_NULL" or "LIST")
        {
            reference = reference["ofType"] ?? throw new Xunit.Sdk.XunitException($"{where}: a wrapping type without ofType");
        }

        var name = reference["name"]!.GetValue<string>();
        Assert.True(types.TryGetValue(name, out var named), $"{where} refers to {name}, which is not among the types");
        Assert.Equal(Kind(named!), Kind(reference));
    }

    internal static string ReadResource(string name)
    {
        using var stream = typeof(IntrospectionTests).Assembly.GetManifestResourceStream($"Pitchly.AspNetCore.Emulator.Tests.Resources.{name}")
            ?? throw new InvalidOperationException($"Resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

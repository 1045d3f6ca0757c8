using System.Text.Json.Nodes;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>The GraphQL language as the emulator executes it: fragments, directives, variables, aliases, validation.</summary>
public sealed class GraphQLLanguageTests
{
    private const string SalesWorkspaceId = "wspKM3ejhFrdn68vp9K3";
    private const string DealsTableId = "tblYE3sATHorJj3EQj3q";
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";

    [Fact]
    public async Task Named_and_inline_fragments_select_fields_on_objects_and_on_an_interface()
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        var response = await host.GraphQLAsync(
            """
            query Fragments($table: ID!, $workspace: ID!) {
              org: organization { ...OrganizationFields }
              table: node(id: $table) { __typename id ... on Table { name records { id } } ... on Workspace { tables { id } } }
              workspace: node(id: $workspace) { ... on Workspace { name ...Tables } }
            }
            fragment OrganizationFields on Organization { __typename id name }
            fragment Tables on Workspace { tables { ... { name } } }
            """,
            new { table = DealsTableId, workspace = SalesWorkspaceId },
            bearer: token);

        Assert.Null(response["errors"]);
        var data = response["data"]!;
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["__typename"] = "Organization", ["id"] = PitchlyEmulatorDefaults.AcmeOrganizationId, ["name"] = PitchlyEmulatorDefaults.AcmeOrganizationName },
            data["org"]));
        Assert.Equal(["__typename", "id", "name", "records"], data["table"]!.AsObject().Select(p => p.Key));
        Assert.Equal("Table", data["table"]!["__typename"]!.GetValue<string>());
        Assert.Equal("Deals", data["table"]!["name"]!.GetValue<string>());
        Assert.Equal(4, data["table"]!["records"]!.AsArray().Count);
        Assert.Equal("Sales", data["workspace"]!["name"]!.GetValue<string>());
        Assert.Equal(["Deals", "Contacts"], data["workspace"]!["tables"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData(true, false, new[] { "id", "name" })]
    [InlineData(true, true, new[] { "name" })]
    [InlineData(false, false, new[] { "id" })]
    [InlineData(false, true, new string[0])]
    public async Task Include_and_skip_follow_their_variables(bool withName, bool skipId, string[] expectedKeys)
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        var response = await host.GraphQLAsync(
            "query ($withName: Boolean!, $skipId: Boolean!) { organization { id @skip(if: $skipId) name @include(if: $withName) } }",
            new { withName, skipId },
            bearer: token);

        Assert.Null(response["errors"]);
        Assert.Equal(expectedKeys, response["data"]!["organization"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Aliases_name_each_selection_and_typename_names_each_type()
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        var response = await host.GraphQLAsync(
            $"{{ __typename first: organization {{ theId: id }} second: organization {{ __typename label: name }} deals: table(id: \"{DealsTableId}\") {{ kind: __typename }} }}",
            bearer: token);

        var expected = new JsonObject
        {
            ["__typename"] = "Query",
            ["first"] = new JsonObject { ["theId"] = PitchlyEmulatorDefaults.AcmeOrganizationId },
            ["second"] = new JsonObject { ["__typename"] = "Organization", ["label"] = PitchlyEmulatorDefaults.AcmeOrganizationName },
            ["deals"] = new JsonObject { ["kind"] = "Table" },
        };
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["data"] = expected }, response), response.ToJsonString());
    }

    [Fact]
    public async Task Variables_are_coerced_to_their_declared_types()
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        // An Int is a valid ID (it becomes "123"), an input object's missing nullable member is absent, a list of one may be a single value.
        var byNumber = await host.GraphQLAsync("query ($id: ID!) { workspace(id: $id) { id } }", new { id = 123 }, bearer: token);
        var inserted = await host.GraphQLAsync(
            "mutation ($db: ID!, $row: RowInput!) { insertRow(databaseId: $db, row: $row) { cols { fieldId value } } }",
            new { db = ClientsDatabaseId, row = new { cols = new { fieldId = await FirstFieldAsync(host, token) } } },
            bearer: token);

        Assert.Null(byNumber["errors"]);
        Assert.Null(byNumber["data"]!["workspace"]);
        Assert.Null(inserted["errors"]);
        var cell = Assert.Single(inserted["data"]!["insertRow"]!["cols"]!.AsArray());
        Assert.Null(cell!["value"]);
    }

    [Theory]
    [InlineData("query ($id: ID!) { workspace(id: $id) { id } }", """{"id":{"not":"an id"}}""", 8)]
    [InlineData("query ($b: Boolean!) { organization { id @include(if: $b) } }", """{"b":"yes"}""", 8)]
    [InlineData("query ($id: ID!) { workspace(id: $id) { id } }", """{"id":null}""", 8)]
    [InlineData("mutation ($row: RowInput!) { insertRow(databaseId: \"x\", row: $row) { _id } }", """{"row":{"cols":[{"value":1}]}}""", 11)]
    [InlineData("mutation ($row: RowInput!) { insertRow(databaseId: \"x\", row: $row) { _id } }", """{"row":{"cols":[],"extra":1}}""", 11)]
    public async Task Variables_that_do_not_coerce_are_BAD_USER_INPUT_at_the_variables_location(string query, string variables, int column)
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        var response = await host.GraphQLAsync(query, JsonNode.Parse(variables), bearer: token);

        Assert.False(response.ContainsKey("data"), response.ToJsonString());
        var error = Assert.Single(response["errors"]!.AsArray())!;
        Assert.Equal("BAD_USER_INPUT", error["extensions"]!["code"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(new JsonObject { ["line"] = 1, ["column"] = column }), error["locations"]), error.ToJsonString());
        Assert.Equal(0, host.Emulator.GetStats().GraphQLUnauthenticated);
    }

    [Theory]
    [InlineData("{\n  organization {\n    nope\n  }\n}", 3, 5, "GRAPHQL_VALIDATION_FAILED")]
    [InlineData("{ workspace(id: 5.5) { id } }", 1, 13, "GRAPHQL_VALIDATION_FAILED")]
    [InlineData("{ workspace { id } }", 1, 3, "GRAPHQL_VALIDATION_FAILED")]
    [InlineData("query ($f: Boolean!) { organization @skip(if: $f) @skip(if: $f) { id } }", 1, 37, "GRAPHQL_VALIDATION_FAILED")]
    [InlineData("{ organization { ... on Workspace { id } } }", 1, 18, "GRAPHQL_VALIDATION_FAILED")]
    [InlineData("{ organization {\n  id\n  name(", 3, 8, "GRAPHQL_PARSE_FAILED")]
    public async Task Invalid_documents_are_refused_before_execution_with_the_errors_location(string query, int line, int column, string code)
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);

        var response = await host.GraphQLAsync(query, bearer: token);

        Assert.False(response.ContainsKey("data"), response.ToJsonString());
        var error = response["errors"]![0]!;
        Assert.Equal(code, error["extensions"]!["code"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["line"] = line, ["column"] = column }, error["locations"]![0]), error.ToJsonString());
    }

    [Fact]
    public async Task A_document_that_does_not_validate_is_refused_before_its_token_is_checked()
    {
        await using var host = await StartAsync();

        var response = await host.GraphQLAsync("{ organization { nope } }", bearer: "plyu_NotARealTokenNotARealTokenNotARealTokenNotA");

        Assert.Equal("GRAPHQL_VALIDATION_FAILED", ErrorCode(response));
        Assert.Equal(0, host.Emulator.GetStats().GraphQLUnauthenticated);
    }

    [Fact]
    public async Task Mutations_are_visible_to_later_queries_and_upsertRow_inserts_or_updates()
    {
        await using var host = await StartAsync();
        var token = await InstallTokenAsync(host);
        var fieldId = await FirstFieldAsync(host, token);
        const string Upsert = "mutation ($db: ID!, $id: ID, $row: RowInput!) { upsertRow(databaseId: $db, rowId: $id, row: $row) { _id cols { value } } }";

        var inserted = await host.GraphQLAsync(Upsert, new { db = ClientsDatabaseId, id = (string?)null, row = new { cols = new[] { new { fieldId, value = "Initech" } } } }, bearer: token);
        var rowId = inserted["data"]!["upsertRow"]!["_id"]!.GetValue<string>();
        var updated = await host.GraphQLAsync(Upsert, new { db = ClientsDatabaseId, id = rowId, row = new { cols = new[] { new { fieldId, value = new { nested = new[] { 1, 2 } } } } } }, bearer: token);
        var rows = await host.GraphQLAsync($"{{ rows(databaseId: \"{ClientsDatabaseId}\") {{ _id cols {{ fieldId value }} }} }}", bearer: token);

        Assert.Null(updated["errors"]);
        Assert.Equal(rowId, updated["data"]!["upsertRow"]!["_id"]!.GetValue<string>());
        var all = rows["data"]!["rows"]!.AsArray();
        Assert.Equal(6, all.Count);
        var row = all.Single(r => r!["_id"]!.GetValue<string>() == rowId)!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"nested":[1,2]}"""), row["cols"]!.AsArray().Single(c => c!["fieldId"]!.GetValue<string>() == fieldId)!["value"]));
    }

    [Fact]
    public async Task Introspection_needs_no_token_but_a_bad_token_is_still_refused()
    {
        await using var host = await StartAsync();

        var anonymous = await host.GraphQLAsync("{ __schema { queryType { name } } __type(name: \"Row\") { fields { name } } }");
        var badToken = await host.GraphQLAsync("{ __schema { queryType { name } } }", bearer: "plyu_NotARealTokenNotARealTokenNotARealTokenNotA");
        var data = await host.GraphQLAsync("{ __typename organization { id } }");

        Assert.Null(anonymous["errors"]);
        Assert.Equal("Query", anonymous["data"]!["__schema"]!["queryType"]!["name"]!.GetValue<string>());
        Assert.Equal(["_id", "cols"], anonymous["data"]!["__type"]!["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>()));
        Assert.Equal("UNAUTHENTICATED", ErrorCode(badToken));
        Assert.Equal("UNAUTHENTICATED", ErrorCode(data));
    }

    internal static async Task<string> InstallTokenAsync(EmulatorTestHost host) =>
        (await host.TokenJsonAsync(System.Net.HttpStatusCode.OK, ("grant_type", "client_credentials"), ("organization_id", PitchlyEmulatorDefaults.AcmeOrganizationId)))["access_token"]!.GetValue<string>();

    private static async Task<string> FirstFieldAsync(EmulatorTestHost host, string token) =>
        (await host.GraphQLAsync($"{{ rows(databaseId: \"{ClientsDatabaseId}\") {{ _id }} databases {{ _id fields {{ _id }} }} }}", bearer: token))
            ["data"]!["databases"]!.AsArray().Single(d => d!["_id"]!.GetValue<string>() == ClientsDatabaseId)!["fields"]![0]!["_id"]!.GetValue<string>();
}

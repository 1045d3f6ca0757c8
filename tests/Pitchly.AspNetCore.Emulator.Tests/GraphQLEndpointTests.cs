using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class GraphQLEndpointTests
{
    private const string Identity = "{ organization { id } viewer { person { id name email image } } }";

    [Fact]
    public async Task Identity_query_returns_only_the_selected_fields()
    {
        await using var host = await StartAsync();
        var tokens = await host.SignInAsync(PitchlyEmulatorDefaults.GraceHopperPersonId);

        var response = await host.GraphQLAsync(Identity, bearer: tokens["access_token"]!.GetValue<string>());

        var expected = new JsonObject
        {
            ["data"] = new JsonObject
            {
                ["organization"] = new JsonObject { ["id"] = PitchlyEmulatorDefaults.AcmeOrganizationId },
                ["viewer"] = new JsonObject
                {
                    ["person"] = new JsonObject
                    {
                        ["id"] = PitchlyEmulatorDefaults.GraceHopperPersonId,
                        ["name"] = PitchlyEmulatorDefaults.GraceHopperName,
                        ["email"] = PitchlyEmulatorDefaults.GraceHopperEmail,
                        ["image"] = PitchlyEmulatorDefaults.GraceHopperImage,
                    },
                },
            },
        };
        Assert.True(JsonNode.DeepEquals(expected, response), response.ToJsonString());
    }

    [Fact]
    public async Task Platform_style_reports_a_bad_token_as_UNAUTHENTICATED_with_HTTP_200_and_null_data()
    {
        await using var host = await StartAsync();

        var response = await host.GraphQLAsync(Identity, bearer: "plyu_NotARealTokenNotARealTokenNotARealTokenNotA");

        Assert.Equal(2, response.Count);
        Assert.Null(response["data"]);
        Assert.Equal("UNAUTHENTICATED", ErrorCode(response));
        Assert.Equal(1, host.Emulator.GetStats().GraphQLUnauthenticated);
    }

    [Fact]
    public async Task Legacy_style_reports_a_bad_token_as_token_invalid_in_data_error()
    {
        await using var host = await StartAsync(o => o.ErrorStyle = PitchlyEmulatorErrorStyle.Legacy);

        var response = await host.GraphQLAsync("query ($accessToken: String) { databases(accessToken: $accessToken) { _id } }", new { accessToken = "bad" });

        var error = response["errors"]![0]!;
        Assert.Null(response["data"]);
        Assert.Equal("Token is invalid or expired [token-invalid]", error["message"]!.GetValue<string>());
        Assert.Equal("token-invalid", error["data"]!["error"]!.GetValue<string>());
        Assert.NotNull(error["data"]!["reason"]);
    }

    [Theory]
    [InlineData(PitchlyEmulatorErrorStyle.Platform)]
    [InlineData(PitchlyEmulatorErrorStyle.Legacy)]
    public async Task Mutation_with_a_read_only_token_is_forbidden_not_unauthenticated(PitchlyEmulatorErrorStyle style)
    {
        await using var host = await StartAsync(o => o.ErrorStyle = style);
        var full = await host.SignInAsync();
        var readOnly = await host.TokenJsonAsync(HttpStatusCode.OK, ("grant_type", "refresh_token"), ("refresh_token", full["refresh_token"]!.GetValue<string>()), ("scope", ""));
        var token = readOnly["access_token"]!.GetValue<string>();
        var databaseId = (await host.GraphQLAsync("{ databases { _id } }", bearer: token))["data"]!["databases"]![0]!["_id"]!.GetValue<string>();

        var response = await host.GraphQLAsync(
            "mutation ($db: ID!) { insertRow(databaseId: $db, row: { cols: [] }) { _id } }",
            new { db = databaseId },
            bearer: token);

        Assert.NotNull(response["data"]);
        Assert.Null(response["data"]!["insertRow"]);
        var error = response["errors"]![0]!;
        if (style == PitchlyEmulatorErrorStyle.Platform)
        {
            Assert.Equal("FORBIDDEN", error["extensions"]!["code"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal("not-authorized", error["data"]!["error"]!.GetValue<string>());
        }

        Assert.Equal(0, host.Emulator.GetStats().GraphQLUnauthenticated);
        Assert.Equal(1, host.Emulator.GetStats().GraphQLForbidden);
    }

    [Fact]
    public async Task Self_signed_JWT_acts_as_the_apps_first_organization()
    {
        await using var host = await StartAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var valid = await host.GraphQLAsync(Identity, bearer: Jwt($"{{\"iss\":\"{PitchlyEmulatorDefaults.ClientId}\",\"exp\":{now + 300}}}", PitchlyEmulatorDefaults.ClientSecret));
        var noExpiry = await host.GraphQLAsync(Identity, bearer: Jwt($"{{\"iss\":\"{PitchlyEmulatorDefaults.ClientId}\"}}", PitchlyEmulatorDefaults.ClientSecret));
        var wrongKey = await host.GraphQLAsync(Identity, bearer: Jwt($"{{\"iss\":\"{PitchlyEmulatorDefaults.ClientId}\"}}", "plys_NotTheSecret"));
        var expired = await host.GraphQLAsync(Identity, bearer: Jwt($"{{\"iss\":\"{PitchlyEmulatorDefaults.ClientId}\",\"exp\":{now - 5}}}", PitchlyEmulatorDefaults.ClientSecret));

        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationId, valid["data"]!["organization"]!["id"]!.GetValue<string>());
        Assert.Null(noExpiry["errors"]);
        Assert.Equal("UNAUTHENTICATED", ErrorCode(wrongKey));
        Assert.Equal("UNAUTHENTICATED", ErrorCode(expired));
        Assert.Equal(PitchlyEmulatorCredentialKind.SelfSignedJwt, host.Emulator.GraphQLRequests[0].CredentialKind);
    }

    [Fact]
    public async Task Legacy_secretKey_acts_as_an_install_of_the_first_organization()
    {
        await using var host = await StartAsync();

        var valid = await host.GraphQLAsync(
            "query ($secretKey: String) { databases(secretKey: $secretKey) { name } }",
            new { secretKey = PitchlyEmulatorDefaults.ClientSecret });
        var wrong = await host.GraphQLAsync("{ databases(secretKey: \"plys_wrong\") { name } }");

        Assert.Equal("Clients", valid["data"]!["databases"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("UNAUTHENTICATED", ErrorCode(wrong));
        Assert.Equal(PitchlyEmulatorTokenPlacement.Variable, host.Emulator.GraphQLRequests[0].Placement);
        Assert.Equal(PitchlyEmulatorCredentialKind.SecretKey, host.Emulator.GraphQLRequests[0].CredentialKind);
        Assert.Equal(PitchlyEmulatorTokenPlacement.Argument, host.Emulator.GraphQLRequests[1].Placement);
    }

    [Fact]
    public async Task Request_log_says_whose_token_each_call_carried_and_where()
    {
        await using var host = await StartAsync();
        var ada = (await host.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId))["access_token"]!.GetValue<string>();
        var alan = (await host.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId))["access_token"]!.GetValue<string>();

        await host.GraphQLAsync(Identity, bearer: ada);
        await host.GraphQLAsync("query ($accessToken: String) { databases(accessToken: $accessToken) { _id } }", new { accessToken = alan });

        var log = host.Emulator.GraphQLRequests;
        Assert.Equal(2, log.Count);
        Assert.Equal((PitchlyEmulatorDefaults.AdaLovelacePersonId, PitchlyEmulatorTokenPlacement.AuthorizationHeader), (log[0].PersonId, log[0].Placement));
        Assert.Equal((PitchlyEmulatorDefaults.AlanTuringPersonId, PitchlyEmulatorTokenPlacement.Variable), (log[1].PersonId, log[1].Placement));
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, log[1].OrganizationId);
        Assert.All(log, entry => Assert.True(entry.Authenticated));
    }

    [Fact]
    public async Task Non_JSON_body_is_HTTP_400_with_a_GraphQL_error()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.PostAsync(PitchlyEmulatorDefaults.GraphQLPath, new StringContent("query { organization { id } }"), Cancellation);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!.AsObject();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("BAD_REQUEST", ErrorCode(body));
    }

    [Fact]
    public async Task Executor_applies_variables_defaults_aliases_and_nested_selections()
    {
        await using var host = await StartAsync();
        var token = (await host.SignInAsync())["access_token"]!.GetValue<string>();
        var workspaces = await host.GraphQLAsync("{ workspaces { id name } }", bearer: token);
        var salesId = workspaces["data"]!["workspaces"]![0]!["id"]!.GetValue<string>();

        var response = await host.GraphQLAsync(
            """
            # A comment, commas and an alias
            query Workspace($id: ID!, $depth: Boolean = true) {
              ws: workspace(id: $id) { id, name tables @include(if: $depth) { name fields { name type } records { id } } }
              __typename
            }
            """,
            new { id = salesId },
            bearer: token);

        Assert.Null(response["errors"]);
        var workspace = response["data"]!["ws"]!;
        Assert.Equal(salesId, workspace["id"]!.GetValue<string>());
        Assert.Equal("Sales", workspace["name"]!.GetValue<string>());
        Assert.Equal(new[] { "name", "fields", "records" }, workspace["tables"]![0]!.AsObject().Select(p => p.Key));
        Assert.Equal("Deals", workspace["tables"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(4, workspace["tables"]![0]!["records"]!.AsArray().Count);
        Assert.Equal("Query", response["data"]!["__typename"]!.GetValue<string>());
        Assert.Equal(2, workspaces["data"]!["workspaces"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("{ organization { id nope } }", "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'nope' on type 'Organization'.")]
    [InlineData("{ organization }", "GRAPHQL_VALIDATION_FAILED", "must have a sub selection")]
    [InlineData("{ organization { id { x } } }", "GRAPHQL_VALIDATION_FAILED", "must not have a sub selection")]
    [InlineData("{ workspace(name: \"x\") { id } }", "GRAPHQL_VALIDATION_FAILED", "Unknown argument 'name'")]
    [InlineData("{ workspace(id: $id) { id } }", "GRAPHQL_VALIDATION_FAILED", "Variable '$id' is not defined.")]
    [InlineData("query ($id: ID!) { workspace(id: $id) { id } }", "BAD_USER_INPUT", "No value provided for a non-null variable")]
    [InlineData("{ organization { id }", "GRAPHQL_PARSE_FAILED", "Error parsing query")]
    [InlineData("query A { organization { id } } query B { organization { name } }", "OPERATION_RESOLUTION_FAILURE", "more than one operation")]
    [InlineData("{ ...Missing }", "GRAPHQL_VALIDATION_FAILED", "Unknown fragment 'Missing'")]
    [InlineData("query ($unused: String) { organization { id } }", "GRAPHQL_VALIDATION_FAILED", "Variable '$unused' is never used")]
    [InlineData("subscription { dataRowsChanged(databaseId: \"x\") { kind } }", "GRAPHQL_VALIDATION_FAILED", "Subscriptions are not served over HTTP")]
    public async Task Executor_rejects_invalid_documents_with_a_coded_error(string query, string code, string message)
    {
        await using var host = await StartAsync();
        var token = (await host.SignInAsync())["access_token"]!.GetValue<string>();

        var response = await host.GraphQLAsync(query, bearer: token);

        Assert.Null(response["data"]);
        Assert.Equal(code, ErrorCode(response));
        Assert.Contains(message, response["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Executor_picks_the_named_operation()
    {
        await using var host = await StartAsync();
        var token = (await host.SignInAsync())["access_token"]!.GetValue<string>();

        using var request = new HttpRequestMessage(HttpMethod.Post, PitchlyEmulatorDefaults.GraphQLPath)
        {
            Content = System.Net.Http.Json.JsonContent.Create(new
            {
                query = "query A { organization { id } } query B { organization { name } }",
                operationName = "B",
            }),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await host.Http.SendAsync(request, Cancellation);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;

        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationName, body["data"]!["organization"]!["name"]!.GetValue<string>());
        Assert.Null(body["data"]!["organization"]!["id"]);
    }

    [Fact]
    public async Task Mutations_change_the_organizations_data()
    {
        await using var host = await StartAsync();
        var token = (await host.SignInAsync())["access_token"]!.GetValue<string>();
        var database = (await host.GraphQLAsync("{ databases { _id fields { _id name } } }", bearer: token))["data"]!["databases"]![0]!;
        var databaseId = database["_id"]!.GetValue<string>();
        var nameField = database["fields"]![0]!["_id"]!.GetValue<string>();

        var inserted = await host.GraphQLAsync(
            "mutation Insert($db: ID!, $row: RowInput!) { insertRow(databaseId: $db, row: $row) { _id cols { fieldId value } } }",
            new { db = databaseId, row = new { cols = new[] { new { fieldId = nameField, value = "Cyberdyne" } } } },
            bearer: token);
        var rowId = inserted["data"]!["insertRow"]!["_id"]!.GetValue<string>();
        await host.GraphQLAsync(
            $"mutation {{ updateRow(databaseId: \"{databaseId}\", rowId: \"{rowId}\", row: {{ cols: [{{ fieldId: \"{nameField}\", value: \"Cyberdyne Systems\" }}] }}) {{ _id }} }}",
            bearer: token);
        var rows = await host.GraphQLAsync("query ($db: ID!) { rows(databaseId: $db) { _id cols { fieldId value } } }", new { db = databaseId }, bearer: token);
        var deleted = await host.GraphQLAsync($"mutation {{ deleteRow(databaseId: \"{databaseId}\", rowId: \"{rowId}\") }}", bearer: token);
        var after = await host.GraphQLAsync("query ($db: ID!) { rows(databaseId: $db) { _id } }", new { db = databaseId }, bearer: token);

        var row = rows["data"]!["rows"]!.AsArray().Single(r => r!["_id"]!.GetValue<string>() == rowId)!;
        Assert.Equal("Cyberdyne Systems", row["cols"]![0]!["value"]!.GetValue<string>());
        Assert.True(deleted["data"]!["deleteRow"]!.GetValue<bool>());
        Assert.Equal(5, after["data"]!["rows"]!.AsArray().Count);
    }

    [Fact]
    public async Task UpdateRecords_changes_current_platform_records()
    {
        await using var host = await StartAsync();
        var token = (await host.SignInAsync())["access_token"]!.GetValue<string>();
        var workspaceId = (await host.GraphQLAsync("{ workspaces { id } }", bearer: token))["data"]!["workspaces"]![0]!["id"]!.GetValue<string>();
        var table = (await host.GraphQLAsync($"{{ workspace(id: \"{workspaceId}\") {{ tables {{ id fields {{ id }} records {{ id }} }} }} }}", bearer: token))["data"]!["workspace"]!["tables"]![0]!;
        var tableId = table["id"]!.GetValue<string>();
        var recordId = table["records"]![0]!["id"]!.GetValue<string>();
        var fieldId = table["fields"]![1]!["id"]!.GetValue<string>();

        var updated = await host.GraphQLAsync(
            "mutation ($table: ID!, $records: [RecordInput!]!) { updateRecords(tableId: $table, records: $records) { id fields { fieldId value } } }",
            new { table = tableId, records = new[] { new { id = recordId, fields = new[] { new { fieldId, value = "Won" } } } } },
            bearer: token);
        var read = await host.GraphQLAsync($"{{ table(id: \"{tableId}\") {{ records {{ id fields {{ fieldId value }} }} }} }}", bearer: token);

        Assert.Equal(recordId, updated["data"]!["updateRecords"]![0]!["id"]!.GetValue<string>());
        var record = read["data"]!["table"]!["records"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == recordId)!;
        Assert.Equal("Won", record["fields"]!.AsArray().Single(f => f!["fieldId"]!.GetValue<string>() == fieldId)!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Early_invalidation_kills_a_live_token_before_the_check()
    {
        await using var host = await StartAsync();
        var tokens = await host.SignInAsync();
        var accessToken = tokens["access_token"]!.GetValue<string>();
        Assert.Null((await host.GraphQLAsync(Identity, bearer: accessToken))["errors"]);

        host.Emulator.Configure(o => o.EarlyInvalidationRate = 1);
        var invalidated = await host.GraphQLAsync(Identity, bearer: accessToken);
        host.Emulator.Configure(o => o.EarlyInvalidationRate = 0);
        var refreshed = await host.RefreshAsync(tokens["refresh_token"]!.GetValue<string>());

        Assert.Equal("UNAUTHENTICATED", ErrorCode(invalidated));
        Assert.Null((await host.GraphQLAsync(Identity, bearer: refreshed["access_token"]!.GetValue<string>()))["errors"]);
        Assert.Equal(1, host.Emulator.GetStats().EarlyInvalidations);
    }

    [Fact]
    public async Task InvalidateAccessTokens_can_target_one_person()
    {
        await using var host = await StartAsync();
        var ada = (await host.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId))["access_token"]!.GetValue<string>();
        var grace = (await host.SignInAsync(PitchlyEmulatorDefaults.GraceHopperPersonId))["access_token"]!.GetValue<string>();

        var count = host.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId);

        Assert.Equal(1, count);
        Assert.Equal("UNAUTHENTICATED", ErrorCode(await host.GraphQLAsync(Identity, bearer: ada)));
        Assert.Null((await host.GraphQLAsync(Identity, bearer: grace))["errors"]);
    }

    private static string Jwt(string payload, string secret)
    {
        var header = Base64Url.EncodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);
        var body = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + body));
        return header + "." + body + "." + Base64Url.EncodeToString(signature);
    }
}

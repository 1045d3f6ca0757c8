using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using GraphQL.Validation.Errors.Custom;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Emulator.Internal.GraphQL;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>
/// What a caller can make the emulator hold is bounded: request bodies, GraphQL depth, operations and queued messages
/// per subscription connection, spent refresh tokens remembered.
/// </summary>
public sealed class LimitsTests
{
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";
    private const string DealsTableId = "tblYE3sATHorJj3EQj3q";
    private const string RowsQuery = "subscription ($db: ID!) { dataRowsChanged(databaseId: $db) { rowIds } }";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_GraphQL_body_past_MaxRequestBodySize_is_refused_with_413(bool chunked)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.MaxRequestBodySize = 4096, Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var body = "{\"query\":\"{ __typename }" + new string(' ', 8192) + "\"}";
        HttpContent content = chunked ? new AdminRequestTests.ChunkedJson(body) : new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await http.PostAsync(PitchlyEmulatorDefaults.GraphQLPath, content, Cancellation);
        using var small = await http.PostAsJsonAsync(PitchlyEmulatorDefaults.GraphQLPath, new { query = "{ __typename }" }, Cancellation);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task A_token_form_past_MaxRequestBodySize_is_refused_with_413()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.MaxRequestBodySize = 4096, Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["organization_id"] = PitchlyEmulatorDefaults.AcmeOrganizationId,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
            ["padding"] = new string('a', 8192),
        }), Cancellation);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, server.Emulator.GetStats().ClientCredentialsGrants);
    }

    [Fact]
    public async Task A_document_deeper_than_MaxQueryDepth_fails_validation()
    {
        await using var host = await StartAsync(o => o.MaxQueryDepth = 5);
        const string Deep = "{ __schema { types { fields { type { ofType { name } } } } } }";
        const string Shallow = "{ __schema { types { fields { type { name } } } } }";

        var deep = await host.GraphQLAsync(Deep);
        var shallow = await host.GraphQLAsync(Shallow);

        Assert.Null(deep["data"]);
        Assert.Contains("depth", deep["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        Assert.Null(shallow["errors"]);
    }

    /// <summary>
    /// The depth each known document needs (the smallest MaxQueryDepth that accepts it), measured with the emulator's own
    /// rule: the introspection query that schema tools send, the package's sign-in and organization queries, the
    /// samples' queries. The default (20) leaves room above the deepest.
    /// </summary>
    [Theory]
    [InlineData("introspection", 15)]
    [InlineData("{ organization { id } viewer { person { id name email image } } }", 3)]
    [InlineData("{ organization { id } }", 2)]
    [InlineData("query Workspaces { organization { id name } workspaces { id name tables { id name fields { id name type } records { id fields { fieldId value } } } } }", 5)]
    [InlineData("query Databases($organizationId: ID!) { databases(organizationId: $organizationId) { _id name fields { _id name type } rows { _id cols { fieldId value } } } }", 4)]
    [InlineData("subscription DataRowsChanged($databaseId: ID!) { dataRowsChanged(databaseId: $databaseId) { databaseId kind rowIds rows { _id cols { fieldId value } } } }", 4)]
    public async Task Known_documents_fit_the_default_depth(string document, int depth)
    {
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator().BuildServiceProvider();
        var emulator = provider.GetRequiredService<PitchlyEmulator>();
        var query = document == "introspection" ? IntrospectionTests.ReadResource("IntrospectionQuery.graphql") : document;

        var needed = 1;
        while (needed < 100 && await TooDeepAsync(emulator, query, needed))
        {
            needed++;
        }

        Assert.Equal(depth, needed);
        Assert.True(needed <= new PitchlyEmulatorOptions().MaxQueryDepth);
    }

    [Fact]
    public async Task Only_documents_up_to_16_KiB_enter_the_validated_document_cache()
    {
        await using var host = await StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        var small = $"query Q{marker} {{ __typename }}";
        var large = $"query Q{marker} {{ __typename }}" + new string(' ', 16 * 1024);

        await host.GraphQLAsync(small);
        await host.GraphQLAsync(large);

        Assert.True(EmulatorGraphQL.IsCached(small, null, host.Emulator.CurrentOptions.MaxQueryDepth));
        Assert.False(EmulatorGraphQL.IsCached(large, null, host.Emulator.CurrentOptions.MaxQueryDepth));
    }

    [Fact]
    public async Task A_subscription_connection_runs_at_most_MaxSubscriptionOperations_at_once()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.MaxSubscriptionOperations = 2, Cancellation);
        var token = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId);
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, "Bearer " + token);
        await client.SubscribeAsync("a", RowsQuery, new { db = ClientsDatabaseId });
        await client.SubscribeAsync("b", RowsQuery, new { db = ClientsDatabaseId });
        await SubscriptionTests.WaitForWatchersAsync(server.Emulator, 2);

        await client.SubscribeAsync("c", RowsQuery, new { db = ClientsDatabaseId });
        var refused = await client.ReceiveAsync();

        Assert.Equal((MessageType.Error, "c"), (refused["type"]!.GetValue<string>(), refused["id"]!.GetValue<string>()));
        Assert.Contains("MaxSubscriptionOperations", refused["payload"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, server.Emulator.Events.WatcherCount);

        // The connection stays open: once one completes, another may start.
        await client.SendAsync(new JsonObject { ["id"] = "a", ["type"] = MessageType.Complete });
        await SubscriptionTests.WaitForWatchersAsync(server.Emulator, 1);
        await client.SubscribeAsync("c", RowsQuery, new { db = ClientsDatabaseId });
        await SubscriptionTests.WaitForWatchersAsync(server.Emulator, 2);
        var rowId = server.Emulator.InsertRow(ClientsDatabaseId);
        var events = new[] { await client.ReceiveAsync(), await client.ReceiveAsync() };
        Assert.Equal(["b", "c"], events.Select(e => e["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal(rowId, e["payload"]!["data"]!["dataRowsChanged"]!["rowIds"]![0]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_closed_once_MaxSubscriptionSendQueue_messages_wait()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.MaxSubscriptionSendQueue = 4, Cancellation);
        var token = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId);
        var deals = server.Emulator.Organizations[PitchlyEmulatorDefaults.AcmeOrganizationId].FindTable(DealsTableId)!;
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, "Bearer " + token);
        await client.SubscribeAsync("deals", $"subscription {{ recordsChanged(tableId: \"{DealsTableId}\") {{ records {{ id fields {{ fieldId value }} }} }} }}");
        await SubscriptionTests.WaitForWatchersAsync(server.Emulator, 1);

        // 200 events of 256 KiB, 50 MiB in all: more than the loopback socket buffers hold, so the server's sends stall
        // and its queue fills. The client reads nothing.
        var big = new string('x', 256 * 1024);
        for (var i = 0; i < 200 && server.Emulator.Events.WatcherCount > 0; i++)
        {
            server.Emulator.UpdateRecord(DealsTableId, deals.Rows[0].Id, new Dictionary<string, JsonNode?> { [deals.Fields[1].Id] = big + i });
        }

        // Closed (1008), then aborted once the close handshake times out: its operation stops watching.
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (server.Emulator.Events.WatcherCount != 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "The connection of a client that reads nothing is still open.");
            await Task.Delay(50, Cancellation);
        }
    }

    [Fact]
    public async Task Only_the_last_MaxSpentRefreshTokens_spent_tokens_are_remembered()
    {
        await using var host = await StartAsync(o => o.MaxSpentRefreshTokens = 2);
        var r0 = (await host.SignInAsync())["refresh_token"]!.GetValue<string>();
        var r1 = (await host.RefreshAsync(r0))["refresh_token"]!.GetValue<string>();
        var r2 = (await host.RefreshAsync(r1))["refresh_token"]!.GetValue<string>();
        var r3 = (await host.RefreshAsync(r2))["refresh_token"]!.GetValue<string>();

        // r1 and r2 (spent, remembered) and r3 (live); r0 is forgotten.
        Assert.Equal(3, host.Emulator.Tokens.RefreshTokenCount);

        // A forgotten token is still refused, but no longer recognised as reuse: the family lives on.
        var forgotten = await host.RefreshAsync(r0, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_grant", forgotten["error"]!.GetValue<string>());
        Assert.Equal(0, host.Emulator.GetStats().RefreshTokenReuse);
        var r4 = (await host.RefreshAsync(r3))["refresh_token"]!.GetValue<string>();

        // A remembered one still is, and revokes the family.
        await host.RefreshAsync(r3, HttpStatusCode.BadRequest);
        Assert.Equal(1, host.Emulator.GetStats().RefreshTokenReuse);
        await host.RefreshAsync(r4, HttpStatusCode.BadRequest);
        Assert.Equal(3, host.Emulator.Tokens.RefreshTokenCount);
    }

    [Theory]
    [InlineData(nameof(PitchlyEmulatorOptions.MaxRequestBodySize))]
    [InlineData(nameof(PitchlyEmulatorOptions.MaxQueryDepth))]
    [InlineData(nameof(PitchlyEmulatorOptions.MaxSubscriptionOperations))]
    [InlineData(nameof(PitchlyEmulatorOptions.MaxSubscriptionSendQueue))]
    [InlineData(nameof(PitchlyEmulatorOptions.MaxSpentRefreshTokens))]
    public void Limits_out_of_range_are_refused_with_their_key(string name)
    {
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator().BuildServiceProvider();
        var emulator = provider.GetRequiredService<PitchlyEmulator>();

        var exception = Assert.Throws<OptionsValidationException>(() => emulator.Configure(o =>
        {
            switch (name)
            {
                case nameof(o.MaxRequestBodySize): o.MaxRequestBodySize = 0; break;
                case nameof(o.MaxQueryDepth): o.MaxQueryDepth = 0; break;
                case nameof(o.MaxSubscriptionOperations): o.MaxSubscriptionOperations = 0; break;
                case nameof(o.MaxSubscriptionSendQueue): o.MaxSubscriptionSendQueue = -1; break;
                default: o.MaxSpentRefreshTokens = 0; break;
            }
        }));

        Assert.Contains("Pitchly:Emulator:" + name, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_change_at_run_time_through_the_settings_endpoint()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.PostAsJsonAsync("/_emulator/settings", new { maxQueryDepth = 20, maxRequestBodySize = 65536, maxSpentRefreshTokens = 10 }, Cancellation);
        var settings = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(20, host.Emulator.CurrentOptions.MaxQueryDepth);
        Assert.Equal(65536, settings["maxRequestBodySize"]!.GetValue<long>());
        Assert.Equal(10, host.Emulator.CurrentOptions.MaxSpentRefreshTokens);
        Assert.Equal(1000, settings["maxSubscriptionSendQueue"]!.GetValue<int>());
    }

    private static async Task<bool> TooDeepAsync(PitchlyEmulator emulator, string query, int maxDepth)
    {
        // The variables the documents declare, so that only the depth can fail validation.
        var variables = new GraphQL.Inputs(new Dictionary<string, object?>
        {
            ["organizationId"] = PitchlyEmulatorDefaults.AcmeOrganizationId,
            ["databaseId"] = ClientsDatabaseId,
        });
        var result = await EmulatorGraphQL.ExecuteAsync(query, variables, null, maxDepth, new EmulatorUserContext(emulator), listener: null, Cancellation);
        return result.Errors?.Any(e => e is ComplexityError) == true;
    }
}

using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Pitchly.AspNetCore.Internal.Subscriptions;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>
/// <c>/subscriptions</c> (graphql-transport-ws) on real Kestrel, driven by <see cref="ClientWebSocket"/>: events from
/// mutations and from elsewhere, token checks at <c>connection_init</c> and while open, and the protocol's close codes.
/// </summary>
public sealed class SubscriptionTests
{
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";
    private const string DealsTableId = "tblYE3sATHorJj3EQj3q";
    private const string RowsQuery = "subscription ($db: ID!) { dataRowsChanged(databaseId: $db) { databaseId kind rowIds rows { _id cols { fieldId value } } } }";

    [Fact]
    public async Task Subscribers_receive_the_events_of_mutations_and_of_changes_made_elsewhere()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        var token = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId);
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, "Bearer " + token);
        await client.SubscribeAsync("rows", RowsQuery, new { db = ClientsDatabaseId });
        await client.SubscribeAsync("db", $"subscription {{ databaseUpdated(databaseId: \"{ClientsDatabaseId}\") {{ _id rows {{ _id }} }} }}");
        await client.SubscribeAsync("records", $"subscription {{ recordsChanged(tableId: \"{DealsTableId}\") {{ tableId kind recordIds records {{ id fields {{ fieldId value }} }} }} }}");
        await WaitForWatchersAsync(server.Emulator, 3);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var fieldId = await FirstFieldAsync(http, token);

        // A mutation over HTTP, with another token of the same organization.
        var inserted = await PostGraphQLAsync(
            http,
            server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId),
            "mutation ($db: ID!, $row: RowInput!) { insertRow(databaseId: $db, row: $row) { _id } }",
            new { db = ClientsDatabaseId, row = new { cols = new[] { new { fieldId, value = "Cyberdyne" } } } });
        var insertedId = inserted["data"]!["insertRow"]!["_id"]!.GetValue<string>();
        var first = await ReceiveNextAsync(client, 2);

        var rowEvent = first["rows"]["payload"]!["data"]!["dataRowsChanged"]!;
        Assert.Equal("INSERTED", rowEvent["kind"]!.GetValue<string>());
        Assert.Equal([insertedId], rowEvent["rowIds"]!.AsArray().Select(id => id!.GetValue<string>()));
        Assert.Equal("Cyberdyne", rowEvent["rows"]![0]!["cols"]![0]!["value"]!.GetValue<string>());
        Assert.Contains(insertedId, first["db"]["payload"]!["data"]!["databaseUpdated"]!["rows"]!.AsArray().Select(r => r!["_id"]!.GetValue<string>()));

        // A row added elsewhere (the emulator's own API), and a record changed elsewhere (its admin endpoint).
        var elsewhere = server.Emulator.InsertRow(ClientsDatabaseId, new Dictionary<string, JsonNode?> { [fieldId] = "Initech" });
        var second = await ReceiveNextAsync(client, 2);
        Assert.Equal(elsewhere, second["rows"]["payload"]!["data"]!["dataRowsChanged"]!["rowIds"]![0]!.GetValue<string>());

        var (recordId, recordFieldId) = await FirstRecordAsync(http, token);
        using var update = await http.PostAsJsonAsync(
            $"/_emulator/tables/{DealsTableId}/records/{recordId}",
            new { values = new Dictionary<string, object> { [recordFieldId] = "Won" } },
            Cancellation);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, update.StatusCode);

        var third = await ReceiveNextAsync(client, 1);
        var recordEvent = third["records"]["payload"]!["data"]!["recordsChanged"]!;
        Assert.Equal(("UPDATED", recordId), (recordEvent["kind"]!.GetValue<string>(), recordEvent["recordIds"]![0]!.GetValue<string>()));
        Assert.Equal("Won", recordEvent["records"]![0]!["fields"]!.AsArray().Single(f => f!["fieldId"]!.GetValue<string>() == recordFieldId)!["value"]!.GetValue<string>());

        // After complete, that subscription gets nothing more; the others still do.
        await client.SendAsync(new JsonObject { ["id"] = "rows", ["type"] = MessageType.Complete });
        await WaitForWatchersAsync(server.Emulator, 2);
        server.Emulator.InsertRow(ClientsDatabaseId);
        var fourth = await ReceiveNextAsync(client, 1);
        Assert.Equal(["db"], fourth.Keys);

        var stats = server.Emulator.GetStats();
        Assert.Equal(1, stats.SubscriptionConnections);
        Assert.Equal(3, stats.SubscriptionOperations);
        Assert.Equal(6, stats.SubscriptionEvents);
        Assert.Equal(0, stats.SubscriptionTokenRejections);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("unknown")]
    [InlineData("expired")]
    [InlineData("revoked")]
    public async Task A_missing_bad_expired_or_revoked_token_is_closed_with_4403(string kind)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        JsonObject payload = [];
        if (kind != "missing")
        {
            var token = kind switch
            {
                "unknown" => "plyu_NotARealTokenNotARealTokenNotARealTokenNotA",
                "expired" => server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId, TimeSpan.FromMilliseconds(1)),
                _ => server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId),
            };
            if (kind == "revoked")
            {
                Assert.Equal(1, server.Emulator.InvalidateAccessTokens());
            }

            await Task.Delay(20, Cancellation);
            payload["authorization"] = token;
        }

        await using var client = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress);
        await client.SendAsync(new JsonObject { ["type"] = MessageType.ConnectionInit, ["payload"] = payload });

        Assert.Equal((CloseCode.Forbidden, "Forbidden"), await client.ReceiveCloseAsync());
        Assert.Equal(1, server.Emulator.GetStats().SubscriptionTokenRejections);
        Assert.Equal(0, server.Emulator.GetStats().SubscriptionConnections);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_open_subscription_is_closed_with_4403_when_its_token_expires_or_is_revoked(bool revoke)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        var token = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId, revoke ? null : TimeSpan.FromSeconds(5));
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, token);
        await client.SubscribeAsync("1", RowsQuery, new { db = ClientsDatabaseId });
        await WaitForWatchersAsync(server.Emulator, 1);
        if (revoke)
        {
            Assert.Equal(1, server.Emulator.InvalidateAccessTokens());
        }

        Assert.Equal((CloseCode.Forbidden, "Forbidden"), await client.ReceiveCloseAsync());
        await WaitForWatchersAsync(server.Emulator, 0);
        Assert.Equal(1, server.Emulator.GetStats().SubscriptionTokenRejections);
    }

    [Fact]
    public async Task Ping_is_answered_with_pong_and_its_payload_before_and_after_the_ack()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress);

        await client.SendAsync(new JsonObject { ["type"] = MessageType.Ping, ["payload"] = new JsonObject { ["n"] = 1 } });
        var beforeInit = await client.ReceiveAsync();
        await client.SendAsync(new JsonObject { ["type"] = MessageType.ConnectionInit, ["payload"] = new JsonObject { ["authorization"] = server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId) } });
        var ack = await client.ReceiveAsync();
        await client.SendAsync(new JsonObject { ["type"] = MessageType.Pong });
        await client.SendAsync(new JsonObject { ["type"] = MessageType.Ping });
        var afterInit = await client.ReceiveAsync();

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"pong","payload":{"n":1}}"""), beforeInit), beforeInit.ToJsonString());
        Assert.Equal(MessageType.ConnectionAck, ack["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"type":"pong"}"""), afterInit), afterInit.ToJsonString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"type":"no_such_type"}""")]
    [InlineData("""{"payload":{}}""")]
    [InlineData("""{"id":"1","type":"subscribe"}""")]
    [InlineData("""{"id":"","type":"subscribe","payload":{"query":"{ organization { id } }"}}""")]
    [InlineData("""{"type":"complete"}""")]
    [InlineData("""{"type":"ping","payload":"text"}""")]
    public async Task An_invalid_message_is_closed_with_4400(string message)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId));

        await client.SendTextAsync(message);

        var (code, reason) = await client.ReceiveCloseAsync();
        Assert.Equal(CloseCode.BadRequest, code);
        Assert.StartsWith("Invalid message received", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_binary_message_is_closed_with_4400()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress);

        await client.Socket.SendAsync("{\"type\":\"ping\"}"u8.ToArray(), WebSocketMessageType.Binary, endOfMessage: true, Cancellation);

        Assert.Equal(CloseCode.BadRequest, (await client.ReceiveCloseAsync()).Code);
    }

    [Fact]
    public async Task A_second_subscribe_with_an_active_id_is_closed_with_4409()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId));

        await client.SubscribeAsync("same", RowsQuery, new { db = ClientsDatabaseId });
        await client.SubscribeAsync("same", RowsQuery, new { db = ClientsDatabaseId });

        Assert.Equal((CloseCode.SubscriberAlreadyExists, "Subscriber for same already exists"), await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task No_connection_init_within_three_seconds_is_closed_with_4408()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress);
        var started = DateTimeOffset.UtcNow;

        var close = await client.ReceiveCloseAsync();

        Assert.Equal((CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout"), close);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(2.5), "closed before the three-second timeout");
    }

    [Fact]
    public async Task Subscribe_before_the_ack_is_closed_with_4401_and_a_second_init_with_4429()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var early = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress);
        await early.SubscribeAsync("1", RowsQuery, new { db = ClientsDatabaseId });
        await using var twice = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId));
        await twice.SendAsync(new JsonObject { ["type"] = MessageType.ConnectionInit });

        Assert.Equal((CloseCode.Unauthorized, "Unauthorized"), await early.ReceiveCloseAsync());
        Assert.Equal((CloseCode.TooManyInitialisationRequests, "Too many initialisation requests"), await twice.ReceiveCloseAsync());
    }

    [Fact]
    public async Task A_client_without_the_subprotocol_is_closed_with_4406()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAsync(server.BaseAddress, subprotocol: null);

        Assert.Equal((CloseCode.SubprotocolNotAcceptable, "Subprotocol not acceptable"), await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Queries_get_one_next_then_complete_and_invalid_operations_get_error()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.ErrorStyle = PitchlyEmulatorErrorStyle.Platform, Cancellation);
        await using var client = await GraphQLWsTestClient.ConnectAndInitAsync(server.BaseAddress, "Bearer " + server.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId));

        await client.SubscribeAsync("q", "{ organization { id } }");
        var next = await client.ReceiveAsync();
        var complete = await client.ReceiveAsync();
        await client.SubscribeAsync("bad", "subscription { dataRowsChanged(databaseId: \"nope\") { kind } nope }");
        var invalid = await client.ReceiveAsync();
        await client.SubscribeAsync("missing", "subscription { dataRowsChanged(databaseId: \"nope\") { kind } }");
        var notFound = await client.ReceiveAsync();

        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse($$$$$"""{"id":"q","type":"next","payload":{"data":{"organization":{"id":"{{{{{PitchlyEmulatorDefaults.AcmeOrganizationId}}}}}"}}}}"""),
            next), next.ToJsonString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"id":"q","type":"complete"}"""), complete), complete.ToJsonString());
        Assert.Equal(("bad", MessageType.Error), (invalid["id"]!.GetValue<string>(), invalid["type"]!.GetValue<string>()));
        Assert.Equal("GRAPHQL_VALIDATION_FAILED", invalid["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.NotNull(invalid["payload"]![0]!["locations"]);
        Assert.Equal(("missing", MessageType.Error), (notFound["id"]!.GetValue<string>(), notFound["type"]!.GetValue<string>()));
        Assert.Equal("NOT_FOUND", notFound["payload"]![0]!["extensions"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_plain_HTTP_request_to_the_subscriptions_endpoint_is_HTTP_400()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await http.GetAsync(PitchlyEmulatorDefaults.SubscriptionsPath, Cancellation);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(GraphQLWsProtocol.Subprotocol, await response.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    /// <summary>Reads <c>next</c> messages until <paramref name="count"/> arrived, keyed by operation id (their order across operations is free).</summary>
    private static async Task<Dictionary<string, JsonObject>> ReceiveNextAsync(GraphQLWsTestClient client, int count)
    {
        var messages = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        while (messages.Count < count)
        {
            var message = await client.ReceiveAsync();
            Assert.Equal(MessageType.Next, message["type"]!.GetValue<string>());
            Assert.True(messages.TryAdd(message["id"]!.GetValue<string>(), message), $"two events for {message["id"]}: {message.ToJsonString()}");
        }

        return messages;
    }

    /// <summary>Subscribing is asynchronous on the server: wait until its event streams are watching before raising events.</summary>
    internal static async Task WaitForWatchersAsync(PitchlyEmulator emulator, int count)
    {
        var deadline = DateTimeOffset.UtcNow + GraphQLWsTestClient.Patience;
        while (emulator.Events.WatcherCount != count)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"{emulator.Events.WatcherCount} event streams watched, expected {count}");
            await Task.Delay(20, Cancellation);
        }
    }

    private static async Task<JsonObject> PostGraphQLAsync(HttpClient http, string token, string query, object? variables)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PitchlyEmulatorDefaults.GraphQLPath) { Content = JsonContent.Create(new { query, variables }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, Cancellation);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!.AsObject();
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body;
    }

    private static async Task<string> FirstFieldAsync(HttpClient http, string token) =>
        (await PostGraphQLAsync(http, token, "{ databases { _id fields { _id } } }", null))["data"]!["databases"]!.AsArray()
            .Single(d => d!["_id"]!.GetValue<string>() == ClientsDatabaseId)!["fields"]![0]!["_id"]!.GetValue<string>();

    private static async Task<(string RecordId, string FieldId)> FirstRecordAsync(HttpClient http, string token)
    {
        var table = (await PostGraphQLAsync(http, token, $"{{ table(id: \"{DealsTableId}\") {{ fields {{ id }} records {{ id }} }} }}", null))["data"]!["table"]!;
        return (table["records"]![0]!["id"]!.GetValue<string>(), table["fields"]![1]!["id"]!.GetValue<string>());
    }
}

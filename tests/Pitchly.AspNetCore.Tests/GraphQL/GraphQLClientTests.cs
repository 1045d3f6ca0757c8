using Microsoft.Extensions.Http;
using Pitchly.AspNetCore.Internal.GraphQL;
using System.Text.Json.Serialization;
using Pitchly.AspNetCore.Tests.EmulatorIntegration;
using static Pitchly.AspNetCore.Tests.EmulatorIntegration.EmulatorFixture;

namespace Pitchly.AspNetCore.Tests.GraphQL;

public sealed partial class GraphQLClientTests
{
    [Fact]
    public async Task Data_is_read_into_the_requested_type_with_variables_and_a_source_generated_type_info()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId)));
        var workspaces = (await app.GraphQL.SendAsync(new("{ workspaces { id } }"), TestJson.Default.WorkspacesData, Cancellation)).GetDataOrThrow();
        var id = workspaces.Workspaces[0].Id;

        var response = await app.GraphQL.SendAsync(
            new("query W($id: ID!) { workspace(id: $id) { id name } }", new Dictionary<string, object?> { ["id"] = id, ["unused"] = new JsonObject { ["n"] = 1 } }, "W"),
            TestJson.Default.WorkspaceData,
            Cancellation);

        Assert.False(response.HasErrors);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, response.Data!.Workspace!.Id);
        Assert.False(string.IsNullOrEmpty(response.Data.Workspace.Name));
    }

    [Fact]
    public async Task GraphQL_errors_are_typed_and_thrown_only_when_asked()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId)));

        var response = await app.GraphQL.SendAsync<OrganizationData>(new("{ organization { id noSuchField } }"), Cancellation);

        var error = Assert.Single(response.Errors);
        Assert.Equal("GRAPHQL_VALIDATION_FAILED", error.Code);
        Assert.False(error.IsNotAuthorized);
        var thrown = Assert.Throws<PitchlyGraphQLException>(() => response.GetDataOrThrow());
        Assert.IsNotType<PitchlyNotAuthorizedException>(thrown);
        Assert.Same(response.Errors, thrown.Errors);
        Assert.Contains("noSuchField", thrown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PitchlyEmulatorErrorStyle.Platform, "FORBIDDEN")]
    [InlineData(PitchlyEmulatorErrorStyle.Legacy, "not-authorized")]
    public async Task A_read_only_token_s_mutation_raises_not_authorized_without_a_refresh(PitchlyEmulatorErrorStyle style, string code)
    {
        await using var app = await StartAsync(
            o => o.ErrorStyle = style,
            s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId)),
            o => o.Scope = "records:read workspaces:read");
        var databases = (await app.GraphQL.SendAsync<JsonObject>(new("{ databases { _id } }"), Cancellation)).GetDataOrThrow();
        var databaseId = (string)databases["databases"]![0]!["_id"]!;
        app.Emulator.ResetStats();

        var response = await app.GraphQL.SendAsync<JsonObject>(
            new("mutation Insert($db: ID!) { insertRow(databaseId: $db, row: { cols: [] }) { _id } }", new Dictionary<string, object?> { ["db"] = databaseId }),
            Cancellation);

        Assert.Equal(code, Assert.Single(response.Errors).Code);
        var thrown = Assert.Throws<PitchlyNotAuthorizedException>(() => response.EnsureNoErrors());
        Assert.Equal(200, thrown.StatusCode);
        var stats = app.Emulator.GetStats();
        Assert.Equal(1, stats.GraphQLRequests);
        Assert.Equal(1, stats.GraphQLForbidden);
        Assert.Equal(0, stats.TokenRequests);
    }

    [Fact]
    public async Task The_token_variable_is_written_while_serialising_and_the_replay_carries_the_new_token()
    {
        await using var app = await StartAsync(
            o => o.ErrorStyle = PitchlyEmulatorErrorStyle.Legacy,
            s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyUserAccessToken(o => o.Placement = PitchlyTokenPlacement.GraphQLVariable)));
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.ActAs(ada);
        var query = new PitchlyGraphQLRequest(
            "query Rows($accessToken: String) { databases(accessToken: $accessToken) { _id name } }",
            new Dictionary<string, object?> { ["accessToken"] = "a stale value the client must not send" });
        var before = (await app.GraphQL.SendAsync<JsonObject>(query, Cancellation)).GetDataOrThrow();
        app.Emulator.ResetStats();
        app.Emulator.InvalidateAccessTokens();

        var after = (await app.GraphQL.SendAsync<JsonObject>(query, Cancellation)).GetDataOrThrow();

        Assert.Equal(before.ToJsonString(), after.ToJsonString());
        Assert.Equal(1, app.Emulator.GetStats().RefreshGrants);
        Assert.Equal(["UNAUTHENTICATED", null], app.Emulator.GraphQLRequests.Select(r => r.ErrorCode));
        Assert.All(app.Emulator.GraphQLRequests, r => Assert.Equal(PitchlyEmulatorTokenPlacement.Variable, r.Placement));
    }

    [Fact]
    public async Task An_HTML_answer_raises_a_typed_error_with_the_status_and_no_secret()
    {
        const string Token = "plyu_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg";
        await using var services = StubClient(HttpStatusCode.BadGateway, "text/html", $"<html><body><h1>502 Bad Gateway</h1><p>upstream said {Token}</p>{new string('x', 5000)}</body></html>");

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(new("{ a }"), Cancellation));

        Assert.Equal(502, thrown.StatusCode);
        Assert.Empty(thrown.Errors);
        Assert.Contains("502 Bad Gateway", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("text/html", thrown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("plyu_", thrown.Message, StringComparison.Ordinal);
        Assert.True(thrown.Message.Length < 500, thrown.Message);
    }

    [Theory]
    [InlineData("application/json", """{"error":"invalid_request"}""")]
    [InlineData("application/json", "[1,2]")]
    [InlineData("application/json", "{not json")]
    [InlineData(null, "plain words")]
    public async Task Answers_that_are_not_GraphQL_responses_raise_a_typed_error(string? mediaType, string body)
    {
        await using var services = StubClient(HttpStatusCode.BadRequest, mediaType, body);

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(new("{ a }"), Cancellation));

        Assert.Equal(400, thrown.StatusCode);
    }

    [Fact]
    public async Task An_oversized_answer_is_refused()
    {
        var large = "{\"data\":{\"a\":\"" + new string('x', 70_000) + "\"}}";
        await using var services = StubClient(HttpStatusCode.OK, "application/json", large, o => o.MaxResponseSize = 64 * 1024);

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(new("{ a }"), Cancellation));

        Assert.Contains("MaxResponseSize", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_that_does_not_fit_the_type_raises_a_typed_error()
    {
        await using var services = StubClient(HttpStatusCode.OK, "application/json", """{"data":{"organization":{"id":42,"name":"n"}}}""");

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<OrganizationData>(new("{ a }"), Cancellation));

        Assert.IsType<JsonException>(thrown.InnerException);
    }

    [Fact]
    public void Adding_the_client_again_with_the_same_credential_adds_nothing_and_with_another_fails_naming_both()
    {
        var once = new ServiceCollection();
        once.AddPitchlyGraphQLClient();
        var services = new ServiceCollection();
        services.AddPitchlyGraphQLClient();

        services.AddPitchlyGraphQLClient();
        services.AddPitchlyGraphQLClient(http => http.AddPitchlyUserAccessToken());

        Assert.Equal(HandlerActions(once), HandlerActions(services));
        Assert.Single(services, d => d.ServiceType == typeof(IPitchlyGraphQLClient));
        var thrown = Assert.Throws<InvalidOperationException>(() => services.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken("org_1")));
        Assert.Contains("signed-in user", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("org_1", thrown.Message, StringComparison.Ordinal);
    }

    private static int HandlerActions(IServiceCollection services)
    {
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>().Get("Pitchly.GraphQL").HttpMessageHandlerBuilderActions.Count;
    }

    [Fact]
    public async Task An_invalid_endpoint_is_refused_with_a_message_naming_the_setting()
    {
        var services = new ServiceCollection();
        services.AddPitchlyGraphQLClient();
        services.Configure<PitchlyGraphQLClientOptions>(o => o.Endpoint = new Uri("ftp://example.com/graphql"));
        using var provider = services.BuildServiceProvider();

        var thrown = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<JsonObject>(new("{ a }"), Cancellation));

        Assert.Contains("Pitchly:GraphQLEndpoint", thrown.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider StubClient(HttpStatusCode status, string? mediaType, string body, Action<PitchlyGraphQLClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyGraphQLClient(http => http.AddPitchlySelfSignedJwt())
            .ConfigurePrimaryHttpMessageHandler(() => new StubHandler(status, mediaType, body));
        services.Configure<PitchlyAccessTokenHandlerOptions>(PitchlyGraphQLClient.HttpClientName, o => o.AllowCustomPrimaryHandler = true);
        services.Configure<PitchlyTokenManagementOptions>(o => { o.ClientId = "app"; o.ClientSecret = "secret-of-the-app-for-tests"; });
        services.Configure<PitchlyGraphQLClientOptions>(o => { o.Endpoint = new Uri("http://127.0.0.1:9/graphql"); configure?.Invoke(o); });
        return services.BuildServiceProvider();
    }

    private sealed class StubHandler(HttpStatusCode status, string? mediaType, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (mediaType is not null)
            {
                content.Headers.ContentType = new(mediaType);
            }

            return Task.FromResult(new HttpResponseMessage(status) { Content = content, RequestMessage = request });
        }
    }
}

public sealed record WorkspacesData(IReadOnlyList<WorkspaceSummary> Workspaces);

public sealed record WorkspaceSummary(string Id);

public sealed record WorkspaceData(WorkspaceDetail? Workspace);

public sealed record WorkspaceDetail(string Id, string Name);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WorkspacesData))]
[JsonSerializable(typeof(WorkspaceData))]
public sealed partial class TestJson : JsonSerializerContext;

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class SafeDefaultsTests
{
    private const string OtherClientId = "appOtherClient0000001";
    private const string OtherClientSecret = "plys_OtherClientSecretOtherClientSecretOtherCl";
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";
    private const string DealsTableId = "tblYE3sATHorJj3EQj3q";

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Embedded_emulator_does_not_start_outside_Development(string environment)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });

        var server = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation);

        Assert.Null(server);
        Assert.Null(builder.Configuration["Pitchly:ClientId"]);
        Assert.Null(builder.Configuration["Pitchly:TokenEndpoint"]);
        Assert.DoesNotContain(builder.Services, d => d.ServiceType == typeof(PitchlyEmulatorServer));
    }

    [Fact]
    public async Task Embedded_emulator_starts_outside_Development_when_explicitly_enabled()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:Emulator:Enabled"] = "true" });

        await using var server = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation);

        Assert.NotNull(server);
        Assert.Equal(PitchlyEmulatorDefaults.ClientId, builder.Configuration["Pitchly:ClientId"]);
    }

    [Fact]
    public async Task Embedded_emulator_stays_off_in_Development_when_explicitly_disabled()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:Emulator:Enabled"] = "false" });

        var server = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation);

        Assert.Null(server);
        Assert.Null(builder.Configuration["Pitchly:ClientId"]);
    }

    [Fact]
    public async Task An_emulator_switch_that_is_not_a_boolean_is_refused_with_its_key()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:Emulator:Enabled"] = "yes" });

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation));

        Assert.Contains("Pitchly:Emulator:Enabled", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_endpoints_answer_loopback_callers()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var stats = await http.GetAsync("/_emulator/stats", Cancellation);
        using var invalidate = await http.PostAsync("/_emulator/invalidate", null, Cancellation);

        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Equal(HttpStatusCode.OK, invalidate.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/_emulator/stats")]
    [InlineData("POST", "/_emulator/stats/reset")]
    [InlineData("GET", "/_emulator/settings")]
    [InlineData("POST", "/_emulator/settings")]
    [InlineData("POST", "/_emulator/invalidate")]
    [InlineData("POST", "/_emulator/app-sdk-token?organization_id=" + PitchlyEmulatorDefaults.AcmeOrganizationId)]
    [InlineData("GET", "/_emulator/graphql-requests")]
    [InlineData("GET", "/_emulator/users")]
    [InlineData("POST", "/_emulator/databases/" + ClientsDatabaseId + "/rows")]
    [InlineData("POST", "/_emulator/tables/" + DealsTableId + "/records/{record}")]
    public async Task Admin_endpoints_refuse_remote_callers_by_default(string method, string path)
    {
        // AllowRemote serves other machines the OAuth and GraphQL endpoints; the admin ones stay closed to them.
        await using var app = await StartBehindRemoteAddressAsync(allowRemote: true, allowRemoteAdmin: false);
        var emulator = app.Services.GetRequiredService<PitchlyEmulator>();
        var deals = emulator.Organizations[PitchlyEmulatorDefaults.AcmeOrganizationId].FindTable(DealsTableId)!;
        var record = deals.Rows[0];
        var cellsBefore = record.Cells;
        var rowsBefore = emulator.Organizations[PitchlyEmulatorDefaults.AcmeOrganizationId].FindDatabase(ClientsDatabaseId)!.Rows.Count;
        using var http = app.GetTestClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{record}", record.Id, StringComparison.Ordinal));
        if (path.EndsWith("/settings", StringComparison.Ordinal) && method == "POST")
        {
            request.Content = new StringContent("{\"autoApprove\":true}", System.Text.Encoding.UTF8, "application/json");
        }
        else if (path.Contains("/tables/", StringComparison.Ordinal))
        {
            request.Content = new StringContent($"{{\"values\":{{\"{deals.Fields[0].Id}\":\"Written remotely\"}}}}", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Contains("Pitchly:Emulator:AllowRemoteAdmin", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(emulator.CurrentOptions.AutoApprove);
        Assert.Equal(0, emulator.GetStats().AccessTokensIssued);
        Assert.Equal(rowsBefore, emulator.Organizations[PitchlyEmulatorDefaults.AcmeOrganizationId].FindDatabase(ClientsDatabaseId)!.Rows.Count);
        Assert.Same(cellsBefore, record.Cells);
    }

    [Theory]
    [InlineData("POST", PitchlyEmulatorDefaults.TokenPath)]
    [InlineData("POST", PitchlyEmulatorDefaults.GraphQLPath)]
    [InlineData("GET", PitchlyEmulatorDefaults.AuthorizationPath + "?response_type=code&client_id=" + PitchlyEmulatorDefaults.ClientId)]
    [InlineData("GET", PitchlyEmulatorDefaults.SubscriptionsPath)]
    public async Task Every_endpoint_refuses_remote_callers_unless_AllowRemote_is_set(string method, string path)
    {
        await using var app = await StartBehindRemoteAddressAsync(allowRemote: false, allowRemoteAdmin: false);
        using var http = app.GetTestClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (path == PitchlyEmulatorDefaults.TokenPath)
        {
            request.Content = ClientCredentialsForm();
        }

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Pitchly:Emulator:AllowRemote", JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, app.Services.GetRequiredService<PitchlyEmulator>().GetStats().TokenRequests);
    }

    [Fact]
    public async Task Remote_callers_reach_the_OAuth_endpoints_when_AllowRemote_is_set()
    {
        await using var app = await StartBehindRemoteAddressAsync(allowRemote: true, allowRemoteAdmin: false);
        using var http = app.GetTestClient();

        using var token = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, ClientCredentialsForm(), Cancellation);

        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
    }

    [Fact]
    public async Task Admin_endpoints_answer_remote_callers_when_explicitly_opened()
    {
        await using var app = await StartBehindRemoteAddressAsync(allowRemote: true, allowRemoteAdmin: true);
        using var http = app.GetTestClient();

        using var response = await http.GetAsync("/_emulator/stats", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void Opening_the_admin_endpoints_to_other_machines_needs_AllowRemote_too()
    {
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator(o => o.AllowRemoteAdmin = true).BuildServiceProvider();

        var exception = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<PitchlyEmulator>());

        Assert.Contains("Pitchly:Emulator:AllowRemote=true", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runtime_settings_cannot_open_the_admin_endpoints()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await http.PostAsync("/_emulator/settings", new StringContent("{\"allowRemoteAdmin\":true}", System.Text.Encoding.UTF8, "application/json"), Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(server.Emulator.CurrentOptions.AllowRemoteAdmin);
    }

    [Fact]
    public async Task Token_exchange_accepts_an_App_SDK_token_only_from_the_app_it_was_issued_to()
    {
        await using var host = await StartAsync(o => o.Clients.Add(new PitchlyEmulatorClient { ClientId = OtherClientId, ClientSecret = OtherClientSecret }));
        var forDefaultClient = host.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId);
        var forOtherClient = host.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId, clientId: OtherClientId);

        using var stolen = await ExchangeAsync(host, OtherClientId, OtherClientSecret, forDefaultClient);
        using var crossed = await ExchangeAsync(host, PitchlyEmulatorDefaults.ClientId, PitchlyEmulatorDefaults.ClientSecret, forOtherClient);
        using var own = await ExchangeAsync(host, OtherClientId, OtherClientSecret, forOtherClient);

        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Equal("invalid_grant", JsonNode.Parse(await stolen.Content.ReadAsStringAsync(Cancellation))!["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, crossed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.NotNull(JsonNode.Parse(await own.Content.ReadAsStringAsync(Cancellation))!["refresh_token"]);
        Assert.Equal(1, host.Emulator.GetStats().TokenExchangeGrants);
    }

    [Fact]
    public async Task App_SDK_token_endpoint_issues_to_the_named_client()
    {
        await using var host = await StartAsync(o => o.Clients.Add(new PitchlyEmulatorClient { ClientId = OtherClientId, ClientSecret = OtherClientSecret }));

        using var response = await host.Http.PostAsync($"/_emulator/app-sdk-token?organization_id={PitchlyEmulatorDefaults.AcmeOrganizationId}&client_id={OtherClientId}", null, Cancellation);
        var sdkToken = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!["accessToken"]!.GetValue<string>();
        using var unknownClient = await host.Http.PostAsync($"/_emulator/app-sdk-token?organization_id={PitchlyEmulatorDefaults.AcmeOrganizationId}&client_id=appNope", null, Cancellation);
        using var wrongApp = await ExchangeAsync(host, PitchlyEmulatorDefaults.ClientId, PitchlyEmulatorDefaults.ClientSecret, sdkToken);
        using var rightApp = await ExchangeAsync(host, OtherClientId, OtherClientSecret, sdkToken);

        Assert.Equal(HttpStatusCode.BadRequest, unknownClient.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongApp.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rightApp.StatusCode);
        Assert.Throws<ArgumentException>(() => host.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.AcmeOrganizationId, clientId: "appNope"));
    }

    private static FormUrlEncodedContent ClientCredentialsForm() => new(new Dictionary<string, string>
    {
        ["grant_type"] = "client_credentials",
        ["organization_id"] = PitchlyEmulatorDefaults.AcmeOrganizationId,
        ["client_id"] = PitchlyEmulatorDefaults.ClientId,
        ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
    });

    private static Task<HttpResponseMessage> ExchangeAsync(EmulatorTestHost host, string clientId, string clientSecret, string subjectToken) =>
        host.TokenAsync(
            clientId,
            clientSecret,
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", subjectToken),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"));

    // The emulator in a TestServer app whose requests look as if they came from another machine.
    private static async Task<WebApplication> StartBehindRemoteAddressAsync(bool allowRemote, bool allowRemoteAdmin)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddPitchlyEmulator(o =>
        {
            o.AllowRemote = allowRemote;
            o.AllowRemoteAdmin = allowRemoteAdmin;
        });
        var app = builder.Build();
        app.Use((HttpContext context, RequestDelegate next) =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
            return next(context);
        });
        app.MapPitchlyEmulator();
        await app.StartAsync(Cancellation);
        return app;
    }
}

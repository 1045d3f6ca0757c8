using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Pitchly.AspNetCore.Tests.EmulatorIntegration;

namespace Pitchly.AspNetCore.Tests.TokenExchange;

public sealed class TokenExchangeEndpointTests : IAsyncLifetime
{
    private const string Acme = PitchlyEmulatorDefaults.AcmeOrganizationId;
    private const string Globex = PitchlyEmulatorDefaults.GlobexOrganizationId;
    private PitchlyEmulatorServer _emulator = null!;
    private string _acmeDatabase = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private string Origin => _http.BaseAddress!.GetLeftPart(UriPartial.Authority);

    public async ValueTask InitializeAsync()
    {
        _emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        _acmeDatabase = await EmulatorWorkspaces.FirstIdAsync(_emulator, Acme, Cancellation);
        _emulator.Emulator.ResetStats();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(_emulator.ClientConfiguration);
        builder.Services.AddPitchlyTokenManagement();
        builder.Services.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(Acme, _acmeDatabase));
        _app = builder.Build();
        _app.MapPitchlyTokenExchange();
        await _app.StartAsync(Cancellation);
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task An_App_SDK_token_is_exchanged_and_the_install_tokens_stored_and_used_without_reaching_the_browser()
    {
        var sdkToken = _emulator.Emulator.IssueAppSdkToken(Acme);

        using var response = await PostAsync(Body(sdkToken, Acme, _acmeDatabase), Origin);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Cancellation));
        Assert.Null(await _app.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        var record = await _app.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(PitchlyTokenKey.ForInstall(Acme, _acmeDatabase), Cancellation);
        Assert.NotNull(record);
        Assert.NotNull(record.RefreshToken);
        Assert.NotEqual(sdkToken, record.AccessToken);
        Assert.Equal(Acme, record.OrganizationId);

        // The stored tokens serve the install's calls, and their refresh token rotates when Pitchly drops the access token.
        _emulator.Emulator.InvalidateAccessTokens();
        var client = _app.Services.GetRequiredService<IPitchlyGraphQLClient>();
        var data = (await client.SendAsync<OrganizationData>(new("{ organization { id name } }"), Cancellation)).GetDataOrThrow();
        Assert.Equal(Acme, data.Organization.Id);
        var stats = _emulator.Emulator.GetStats();
        Assert.Equal(1, stats.TokenExchangeGrants);
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.ClientCredentialsGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
    }

    [Theory]
    [InlineData("https://evil.example", null)]
    [InlineData("null", null)]
    [InlineData(null, "cross-site")]
    public async Task Cross_site_requests_are_refused_before_any_exchange(string? origin, string? fetchSite)
    {
        using var request = Request(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, null), origin);
        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        using var response = await _http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("cross-site", await ErrorOf(response));
        Assert.Equal(0, _emulator.Emulator.GetStats().TokenRequests);
    }

    [Fact]
    public async Task Pitchly_s_origin_is_allowed_by_default()
    {
        using var response = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, null), "https://platform.pitchly.com");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_typed_is_refused_with_415()
    {
        using var request = Request(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, null), Origin);
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/plain");

        using var response = await _http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(0, _emulator.Emulator.GetStats().TokenRequests);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("""{"accessToken":"x"}""")]
    [InlineData("""{"accessToken":"","organizationId":"org"}""")]
    [InlineData("""{"accessToken":"x","organizationId":"org","databaseId":7}""")]
    [InlineData("""{"accessToken":"x","organizationId":"org:db"}""")]
    [InlineData("""{"accessToken":"x","organizationId":"org","databaseId":"*"}""")]
    public async Task A_malformed_body_is_a_400_problem_that_says_what_to_send(string body)
    {
        using var response = await PostAsync(body, Origin);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("organizationId", await response.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(0, _emulator.Emulator.GetStats().TokenRequests);
    }

    [Fact]
    public async Task An_expired_App_SDK_token_is_a_401_problem_without_the_token_and_nothing_is_stored()
    {
        var sdkToken = _emulator.Emulator.IssueAppSdkToken(Acme, TimeSpan.FromMilliseconds(1));
        await Task.Delay(20, Cancellation);

        using var response = await PostAsync(Body(sdkToken, Acme, null), Origin);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Equal("invalid-app-sdk-token", await ErrorOf(response));
        Assert.DoesNotContain(sdkToken, text, StringComparison.Ordinal);
        Assert.Contains("generateAccessToken", text, StringComparison.Ordinal);
        Assert.Null(await _app.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
    }

    [Fact]
    public async Task A_token_of_another_organization_is_not_stored_under_the_claimed_one()
    {
        var globexToken = _emulator.Emulator.IssueAppSdkToken(PitchlyEmulatorDefaults.GlobexOrganizationId);

        using var response = await PostAsync(Body(globexToken, Acme, null), Origin);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("organization-mismatch", await ErrorOf(response));
        var store = _app.Services.GetRequiredService<IPitchlyTokenStore>();
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Globex), Cancellation));
    }

    [Fact]
    public async Task A_database_of_the_organization_is_confirmed_by_Pitchly_in_the_same_request_as_the_organization()
    {
        using var response = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, _acmeDatabase), Origin);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var store = _app.Services.GetRequiredService<IPitchlyTokenStore>();
        Assert.Equal(Acme, (await store.GetAsync(PitchlyTokenKey.ForInstall(Acme, _acmeDatabase), Cancellation))!.OrganizationId);
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        var asked = Assert.Single(_emulator.Emulator.GraphQLRequests);
        Assert.Equal("PitchlyInstall", asked.OperationName);
        Assert.Equal(Acme, asked.OrganizationId);
        Assert.Null(asked.ErrorCode);
    }

    [Fact]
    public async Task A_database_of_another_organization_is_refused_and_nothing_is_stored()
    {
        var globexDatabase = await EmulatorWorkspaces.FirstIdAsync(_emulator, Globex, Cancellation);

        using var response = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, globexDatabase), Origin);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("database-unconfirmed", await ErrorOf(response));
        var store = _app.Services.GetRequiredService<IPitchlyTokenStore>();
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme, globexDatabase), Cancellation));
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
    }

    [Theory]
    [InlineData("db_1")]
    [InlineData("wspNoSuchWorkspace00")]
    [InlineData("wsp\"){id}}#")]
    public async Task An_unknown_database_is_refused_and_nothing_is_stored(string databaseId)
    {
        using var response = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, databaseId), Origin);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("database-unconfirmed", await ErrorOf(response));
        var store = _app.Services.GetRequiredService<IPitchlyTokenStore>();
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme, databaseId), Cancellation));
        Assert.Null(await store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));

        // The id went as a variable: the query Pitchly parsed is the endpoint's own, whatever the id holds.
        var asked = Assert.Single(_emulator.Emulator.GraphQLRequests);
        Assert.Equal("PitchlyInstall", asked.OperationName);
        Assert.Null(asked.ErrorCode);
    }

    [Fact]
    public async Task A_token_of_another_organization_does_not_replace_a_confirmed_database_install()
    {
        using (var first = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Acme), Acme, _acmeDatabase), Origin))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var store = _app.Services.GetRequiredService<IPitchlyTokenStore>();
        var key = PitchlyTokenKey.ForInstall(Acme, _acmeDatabase);
        var stored = await store.GetAsync(key, Cancellation);

        using var foreign = await PostAsync(Body(_emulator.Emulator.IssueAppSdkToken(Globex), Acme, _acmeDatabase), Origin);

        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal("organization-mismatch", await ErrorOf(foreign));
        var kept = await store.GetAsync(key, Cancellation);
        Assert.Equal(stored!.Version, kept!.Version);
        Assert.Equal(stored.AccessToken, kept.AccessToken);
    }

    private Task<HttpResponseMessage> PostAsync(string body, string? origin) => _http.SendAsync(Request(body, origin), Cancellation);

    private static HttpRequestMessage Request(string body, string? origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/pitchly/token-exchange") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return request;
    }

    private static string Body(string accessToken, string organizationId, string? databaseId) =>
        JsonSerializer.Serialize(new Dictionary<string, string?> { ["accessToken"] = accessToken, ["organizationId"] = organizationId, ["databaseId"] = databaseId });

    private static async Task<string?> ErrorOf(HttpResponseMessage response)
    {
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        return problem.RootElement.GetProperty("error").GetString();
    }
}

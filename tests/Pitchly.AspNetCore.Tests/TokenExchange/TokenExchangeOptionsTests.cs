using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Logging.Testing;
using Pitchly.AspNetCore.Internal.TokenExchange;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenExchange;

/// <summary>
/// Every <see cref="PitchlyTokenExchangeOptions"/> setting against the emulator on real Kestrel. Where Pitchly's wire
/// format is configurable (grant type, parameter names, what the answer names), a gateway in front of the emulator's token
/// endpoint records what the app sent and speaks the emulator's RFC 8693 dialect on its behalf.
/// </summary>
public sealed class TokenExchangeOptionsTests : IAsyncLifetime
{
    private const string Acme = PitchlyEmulatorDefaults.AcmeOrganizationId;
    private const string Globex = PitchlyEmulatorDefaults.GlobexOrganizationId;

    private PitchlyEmulatorServer _emulator = null!;
    private WebApplication? _app;
    private HttpClient? _http;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private PitchlyEmulator Emulator => _emulator.Emulator;

    private IPitchlyTokenStore Store => _app!.Services.GetRequiredService<IPitchlyTokenStore>();

    private string Origin => _http!.BaseAddress!.GetLeftPart(UriPartial.Authority);

    public async ValueTask InitializeAsync() => _emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task The_grant_type_parameter_name_token_type_and_extra_parameters_are_sent_as_configured()
    {
        var gateway = new TokenGateway { SubjectTokenParameter = "app_sdk_token", GrantType = "urn:pitchly:params:oauth:grant-type:app-sdk", AnswerDatabaseId = "db_1" };
        await StartAsync(
            new()
            {
                ["Pitchly:TokenExchange:GrantType"] = "urn:pitchly:params:oauth:grant-type:app-sdk",
                ["Pitchly:TokenExchange:SubjectTokenParameter"] = "app_sdk_token",
                ["Pitchly:TokenExchange:SubjectTokenType"] = "",
                ["Pitchly:TokenExchange:AdditionalParameters:requested_token_type"] = "urn:ietf:params:oauth:token-type:refresh_token",
                ["Pitchly:TokenExchange:AdditionalParameters:audience"] = "https://api.pitchly.com",
            },
            gateway);
        var sdkToken = Emulator.IssueAppSdkToken(Acme);

        using var response = await PostAsync(Body(sdkToken, Acme, "db_1"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var form = Assert.Single(gateway.Forms);
        Assert.Equal("urn:pitchly:params:oauth:grant-type:app-sdk", form["grant_type"]);
        Assert.Equal(sdkToken, form["app_sdk_token"]);
        Assert.False(form.ContainsKey("subject_token"));
        Assert.False(form.ContainsKey("subject_token_type"));
        Assert.Equal("urn:ietf:params:oauth:token-type:refresh_token", form["requested_token_type"]);
        Assert.Equal("https://api.pitchly.com", form["audience"]);
        Assert.Equal(PitchlyEmulatorDefaults.ClientId, form["client_id"]);
        Assert.NotNull(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, "db_1"), Cancellation));
        Assert.Equal(1, Emulator.GetStats().TokenExchangeGrants);
    }

    [Fact]
    public async Task The_default_exchange_is_RFC_8693_with_an_access_token_subject()
    {
        var gateway = new TokenGateway();
        await StartAsync([], gateway);

        using var response = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var form = Assert.Single(gateway.Forms);
        Assert.Equal("urn:ietf:params:oauth:grant-type:token-exchange", form["grant_type"]);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", form["subject_token_type"]);
        Assert.True(form.ContainsKey("subject_token"));
    }

    [Fact]
    public async Task An_organization_named_by_Pitchly_s_answer_binds_the_install_without_asking_the_GraphQL_API()
    {
        var gateway = new TokenGateway { AnswerOrganizationId = Globex };
        await StartAsync([], gateway);

        using var refused = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Acme, null));
        using var accepted = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Globex, null));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("organization-mismatch", await ErrorOf(refused));
        Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        Assert.Equal(Globex, (await Store.GetAsync(PitchlyTokenKey.ForInstall(Globex), Cancellation))!.OrganizationId);
        Assert.Empty(Emulator.GraphQLRequests);
    }

    [Fact]
    public async Task A_database_named_by_Pitchly_s_answer_binds_the_install_and_refuses_another()
    {
        var gateway = new TokenGateway { AnswerDatabaseId = "db_pitchly" };
        await StartAsync([], gateway);

        using var omitted = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        using var other = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, "db_other"));

        Assert.Equal(HttpStatusCode.NoContent, omitted.StatusCode);
        Assert.NotNull(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, "db_pitchly"), Cancellation));
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("database-mismatch", await ErrorOf(other));
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, "db_other"), Cancellation));
    }

    [Fact]
    public async Task Without_verification_a_new_install_trusts_the_posted_organization_and_asks_no_GraphQL_API()
    {
        await StartAsync(new() { ["Pitchly:TokenExchange:VerifyOrganization"] = "false" });
        var sdkToken = Emulator.IssueAppSdkToken(Acme);

        using var response = await PostAsync(Body(sdkToken, Acme, null));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Acme, (await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation))!.OrganizationId);
        Assert.Empty(Emulator.GraphQLRequests);
    }

    [Fact]
    public async Task Without_verification_a_databaseId_the_answer_does_not_name_is_still_refused_and_no_GraphQL_API_is_asked()
    {
        await StartAsync(new() { ["Pitchly:TokenExchange:VerifyOrganization"] = "false" });
        var database = await EmulatorWorkspaces.FirstIdAsync(_emulator, Acme, Cancellation);
        Emulator.ResetStats();

        using var response = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, database));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("database-unconfirmed", await ErrorOf(response));
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, database), Cancellation));
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
        Assert.Empty(Emulator.GraphQLRequests);
    }

    [Fact]
    public async Task With_the_organization_named_by_Pitchly_s_answer_a_posted_database_is_still_confirmed_with_the_GraphQL_API()
    {
        await StartAsync([], new TokenGateway { AnswerOrganizationId = Acme });
        var acmeDatabase = await EmulatorWorkspaces.FirstIdAsync(_emulator, Acme, Cancellation);
        var globexDatabase = await EmulatorWorkspaces.FirstIdAsync(_emulator, Globex, Cancellation);
        Emulator.ResetStats();

        using var own = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, acmeDatabase));
        using var foreign = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, globexDatabase));

        Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
        Assert.Equal(Acme, (await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, acmeDatabase), Cancellation))!.OrganizationId);
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal("database-unconfirmed", await ErrorOf(foreign));
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, globexDatabase), Cancellation));
        Assert.Equal(2, Emulator.GraphQLRequests.Count(r => r.OperationName == "PitchlyInstall"));
    }

    [Fact]
    public async Task Without_verification_a_stored_install_is_still_replaced_only_by_tokens_of_its_organization()
    {
        await StartAsync(new() { ["Pitchly:TokenExchange:VerifyOrganization"] = "false" });
        var key = PitchlyTokenKey.ForInstall(Acme);
        using (var first = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null)))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var stored = await Store.GetAsync(key, Cancellation);

        using var foreign = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Acme, null));
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal("organization-mismatch", await ErrorOf(foreign));
        var kept = await Store.GetAsync(key, Cancellation);
        Assert.Equal(stored!.Version, kept!.Version);
        Assert.Equal(stored.AccessToken, kept.AccessToken);

        using var same = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        Assert.Equal(HttpStatusCode.NoContent, same.StatusCode);
        var replaced = await Store.GetAsync(key, Cancellation);
        Assert.True(replaced!.Version > stored.Version);
        Assert.NotEqual(stored.AccessToken, replaced.AccessToken);
        Assert.Equal(Acme, replaced.OrganizationId);
    }

    [Fact]
    public async Task With_verification_a_stored_install_is_not_replaced_by_tokens_of_another_organization()
    {
        await StartAsync([]);
        var key = PitchlyTokenKey.ForInstall(Acme);
        using (var first = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null)))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        var stored = await Store.GetAsync(key, Cancellation);

        using var foreign = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Acme, null));

        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal(stored!.AccessToken, (await Store.GetAsync(key, Cancellation))!.AccessToken);
    }

    [Fact]
    public async Task Configured_allowed_origins_are_accepted_besides_the_app_s_own_and_Pitchly_s()
    {
        await StartAsync(new() { ["Pitchly:TokenExchange:AllowedOrigins:0"] = "https://embed.example.com" });

        using var configured = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), "https://embed.example.com");
        using var pitchly = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), "https://v2.pitchly.net");
        using var other = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), "https://other.example.com");

        Assert.Equal(HttpStatusCode.NoContent, configured.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, pitchly.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
    }

    [Fact]
    public async Task Allowed_origins_cleared_in_code_leave_only_the_app_s_own_origin()
    {
        await StartAsync([], configure: services => services.Configure<PitchlyTokenExchangeOptions>(o => o.AllowedOrigins.Clear()));

        using var pitchly = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), "https://platform.pitchly.com");
        using var own = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));

        Assert.Equal(HttpStatusCode.Forbidden, pitchly.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
    }

    [Theory]
    [InlineData("Pitchly:TokenExchange:AllowedOrigins:0", "https://embed.example.com/app")]
    [InlineData("Pitchly:TokenExchange:GrantType", " ")]
    [InlineData("Pitchly:TokenExchange:SubjectTokenParameter", "")]
    [InlineData("Pitchly:TokenExchange:MaxRequestSize", "0")]
    [InlineData("Pitchly:TokenExchange:PermitsPerClientAddress", "-1")]
    [InlineData("Pitchly:TokenExchange:PermitsPerOrganization", "-1")]
    [InlineData("Pitchly:TokenExchange:RateLimitWindow", "00:00:00")]
    [InlineData("Pitchly:TokenExchange:MaxConcurrentExchanges", "-1")]
    public async Task An_invalid_setting_stops_the_app_with_a_message_that_names_its_key(string key, string value)
    {
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { [key] = value }));

        var setting = key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key;
        Assert.Contains(setting, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_address_over_its_limit_gets_429_with_Retry_After_before_Pitchly_is_asked()
    {
        await StartAsync(new()
        {
            ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "2",
            ["Pitchly:TokenExchange:PermitsPerOrganization"] = "0",
        });

        using var first = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        using var second = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Globex, null));
        using var third = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, "db_1"));

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("rate-limited", await ErrorOf(third));
        Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(2, Emulator.GetStats().TokenRequests);
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme, "db_1"), Cancellation));
    }

    [Fact]
    public async Task An_organization_over_its_limit_gets_429_while_other_organizations_go_on()
    {
        await StartAsync(new()
        {
            ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "0",
            ["Pitchly:TokenExchange:PermitsPerOrganization"] = "2",
        });

        using var acme1 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        using var acme2 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        using var acme3 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        using var globex = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Globex, null));

        Assert.Equal(HttpStatusCode.NoContent, acme1.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, acme2.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, acme3.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, globex.StatusCode);
        Assert.Equal(3, Emulator.GetStats().TokenExchangeGrants);
    }

    [Fact]
    public async Task The_default_limit_per_client_address_refuses_the_eleventh_request_in_a_minute()
    {
        await StartAsync([]);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 11; i++)
        {
            // Malformed bodies: each still takes a permit, and none reaches Pitchly.
            using var response = await PostAsync("{}");
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses.Take(10), status => Assert.Equal(HttpStatusCode.BadRequest, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[10]);
    }

    [Fact]
    public async Task With_both_limits_off_the_app_s_own_rate_limiting_policy_applies()
    {
        await StartAsync(
            new()
            {
                ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "0",
                ["Pitchly:TokenExchange:PermitsPerOrganization"] = "0",
            },
            configure: services => services.AddRateLimiter(o =>
            {
                o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                o.AddFixedWindowLimiter("exchange", limiter =>
                {
                    limiter.PermitLimit = 1;
                    limiter.Window = TimeSpan.FromMinutes(1);
                    limiter.QueueLimit = 0;
                });
            }),
            pipeline: app => app.UseRateLimiter(),
            endpoint: exchange => exchange.RequireRateLimiting("exchange"));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await PostAsync("{}");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, statuses[0]);
        Assert.All(statuses.Skip(1), status => Assert.Equal(HttpStatusCode.TooManyRequests, status));
    }

    [Fact]
    public async Task With_both_limits_off_no_request_is_rate_limited()
    {
        await StartAsync(new()
        {
            ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "0",
            ["Pitchly:TokenExchange:PermitsPerOrganization"] = "0",
        });
        for (var i = 0; i < 40; i++)
        {
            using var response = await PostAsync("""{"accessToken":"x","organizationId":"org:bad"}""");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task An_exchange_that_requires_authorization_refuses_an_anonymous_page_before_Pitchly_is_asked()
    {
        await StartAsync(
            [],
            configure: services =>
            {
                services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                services.AddAuthorization();
            },
            pipeline: app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
            },
            endpoint: exchange => exchange.RequireAuthorization());

        using var response = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/Account/Login", response.Headers.Location?.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, Emulator.GetStats().TokenRequests);
        Assert.Null(await Store.GetAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation));
    }

    [Fact]
    public async Task Refused_tokens_claiming_an_organization_from_many_addresses_do_not_spend_its_budget()
    {
        await StartAsync(
            new()
            {
                ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "3",
                ["Pitchly:TokenExchange:PermitsPerOrganization"] = "2",
            },
            configure: CaptureLogs,
            pipeline: app => app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor }));

        // Anonymous pages at ten addresses post tokens Pitchly refuses, and one posts a Globex token, all claiming Acme.
        for (var i = 1; i <= 10; i++)
        {
            using var refused = await PostAsync(Body($"not-an-app-sdk-token-{i}", Acme, null), forwardedFor: $"203.0.113.{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var foreign = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Acme, null), forwardedFor: "203.0.113.50"))
        {
            Assert.Equal("organization-mismatch", await ErrorOf(foreign));
        }

        // Acme's real connects still go through, and its budget still counts what Pitchly confirmed to be Acme's.
        using var real1 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), forwardedFor: "198.51.100.1");
        using var real2 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), forwardedFor: "198.51.100.2");
        using var real3 = await PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null), forwardedFor: "198.51.100.3");

        Assert.Equal(HttpStatusCode.NoContent, real1.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, real2.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, real3.StatusCode);
        Assert.Equal(3, Emulator.GetStats().TokenExchangeGrants);
        Assert.DoesNotContain(Logs.GetSnapshot(), log => log.Id.Id == 2150);
    }

    [Fact]
    public async Task IPv6_addresses_share_one_budget_per_64_network()
    {
        await StartAsync(
            new()
            {
                ["Pitchly:TokenExchange:PermitsPerClientAddress"] = "2",
                ["Pitchly:TokenExchange:PermitsPerOrganization"] = "0",
            },
            pipeline: app => app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor }));

        // Malformed bodies: each takes a permit of its address's partition, and none reaches Pitchly.
        async Task<HttpStatusCode> PostFrom(string address)
        {
            using var response = await PostAsync("{}", forwardedFor: address);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("2001:db8:1:2::1"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("2001:db8:1:2:ffff:ffff:ffff:fffe"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await PostFrom("2001:db8:1:2:1234::9"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("2001:db8:1:3::1"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("203.0.113.1"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("203.0.113.1"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostFrom("203.0.113.2"));
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void A_client_address_counts_in_its_own_partition_or_its_64(string address, string partition)
    {
        Assert.Equal(partition, TokenExchangeRateLimiter.ClientPartition(IPAddress.Parse(address)));
    }

    [Fact]
    public async Task Exchanges_over_the_concurrency_bound_get_503_with_Retry_After_before_Pitchly_is_asked()
    {
        var gateway = new TokenGateway { Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await StartAsync(new() { ["Pitchly:TokenExchange:MaxConcurrentExchanges"] = "1" }, gateway);

        var first = PostAsync(Body(Emulator.IssueAppSdkToken(Acme), Acme, null));
        await gateway.Entered.Task.WaitAsync(Cancellation);
        HttpResponseMessage busy;
        try
        {
            // Bounded only so that a server without the bound fails this test instead of hanging it.
            busy = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Globex, null)).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        }
        finally
        {
            gateway.Hold.SetResult();
        }

        using (busy)
        using (var done = await first)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.Equal("busy", await ErrorOf(busy));
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
            Assert.Equal(HttpStatusCode.NoContent, done.StatusCode);
        }

        Assert.Single(gateway.Forms);
        using var after = await PostAsync(Body(Emulator.IssueAppSdkToken(Globex), Globex, null));
        Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
    }

    [Fact]
    public async Task X_Forwarded_For_without_forwarded_headers_applied_is_warned_about_once()
    {
        await StartAsync([], configure: CaptureLogs);

        for (var i = 0; i < 3; i++)
        {
            using var response = await PostAsync("{}", forwardedFor: $"203.0.113.{i + 1}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var warning = Assert.Single(Logs.GetSnapshot(), log => log.Id.Id == 2150);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("UseForwardedHeaders", warning.Message, StringComparison.Ordinal);
    }

    private FakeLogCollector Logs => _app!.Services.GetRequiredService<FakeLogCollector>();

    private static void CaptureLogs(IServiceCollection services) => services.AddLogging(logging => logging.AddFakeLogging());

    private async Task StartAsync(
        Dictionary<string, string?> settings,
        TokenGateway? gateway = null,
        Action<IServiceCollection>? configure = null,
        Action<WebApplication>? pipeline = null,
        Action<RouteHandlerBuilder>? endpoint = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(_emulator.ClientConfiguration).AddInMemoryCollection(settings);
        builder.Services.AddPitchlyTokenManagement();
        if (gateway is not null)
        {
            builder.Services.AddHttpClient(PitchlyTokenClient.HttpClientName).AddHttpMessageHandler(() => gateway);
        }

        configure?.Invoke(builder.Services);
        var app = builder.Build();
        try
        {
            pipeline?.Invoke(app);
            var exchange = app.MapPitchlyTokenExchange();
            endpoint?.Invoke(exchange);
            await app.StartAsync(Cancellation);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(address) };
    }

    private Task<HttpResponseMessage> PostAsync(string body, string? origin = null, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/pitchly/token-exchange") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Origin", origin ?? Origin);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return _http!.SendAsync(request, Cancellation);
    }

    private static string Body(string accessToken, string organizationId, string? databaseId) =>
        JsonSerializer.Serialize(new Dictionary<string, string?> { ["accessToken"] = accessToken, ["organizationId"] = organizationId, ["databaseId"] = databaseId });

    private static async Task<string?> ErrorOf(HttpResponseMessage response)
    {
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        return problem.RootElement.GetProperty("error").GetString();
    }

    /// <summary>
    /// Stands between the app and the emulator's token endpoint: records each form the app sent, translates a configured
    /// dialect into the emulator's RFC 8693 one, and can add what a Pitchly answer may name (organization, database).
    /// </summary>
    private sealed class TokenGateway : DelegatingHandler
    {
        public string GrantType { get; init; } = "urn:ietf:params:oauth:grant-type:token-exchange";

        public string SubjectTokenParameter { get; init; } = "subject_token";

        public string? AnswerOrganizationId { get; init; }

        public string? AnswerDatabaseId { get; init; }

        public List<Dictionary<string, string>> Forms { get; } = [];

        /// <summary>When set, each request waits for it once it has been recorded and <see cref="Entered"/> is signalled.</summary>
        public TaskCompletionSource? Hold { get; init; }

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var text = await request.Content!.ReadAsStringAsync(cancellationToken);
            var form = text.Split('&').Select(pair => pair.Split('=', 2))
                .ToDictionary(pair => WebUtility.UrlDecode(pair[0]), pair => WebUtility.UrlDecode(pair[1]), StringComparer.Ordinal);
            lock (Forms)
            {
                Forms.Add(form);
            }

            Entered.TrySetResult();
            if (Hold is not null)
            {
                await Hold.Task.WaitAsync(cancellationToken);
            }

            var translated = new List<KeyValuePair<string, string>>
            {
                new("client_id", form["client_id"]),
                new("client_secret", form["client_secret"]),
            };
            if (form["grant_type"] == GrantType && form.TryGetValue(SubjectTokenParameter, out var subject))
            {
                translated.Add(new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"));
                translated.Add(new("subject_token", subject));
                translated.Add(new("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"));
            }
            else
            {
                translated.AddRange(form.Where(p => p.Key is not "client_id" and not "client_secret"));
            }

            request.Content = new FormUrlEncodedContent(translated);
            var response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode || (AnswerOrganizationId is null && AnswerDatabaseId is null))
            {
                return response;
            }

            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
            if (AnswerOrganizationId is not null)
            {
                answer["organization_id"] = AnswerOrganizationId;
            }

            if (AnswerDatabaseId is not null)
            {
                answer["database_id"] = AnswerDatabaseId;
            }

            response.Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json");
            return response;
        }
    }
}

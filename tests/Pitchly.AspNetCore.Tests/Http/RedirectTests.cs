using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>
/// A token or GraphQL POST that meets a 307 to another host must not be replayed there: 307 and 308 keep the body, and
/// the body carries the client secret, a refresh token or a token variable. Real Kestrel servers on two loopback ports.
/// </summary>
public sealed class RedirectTests : IAsyncLifetime
{
    private const string OrganizationId = "orgRedirect000000001";
    private const string PersonId = "psnRedirect000000001";
    private const string ClientSecret = "plys_secret-that-must-stay-with-pitchly-000000000000";
    private const string AccessToken = "plyu_access-token-that-must-stay-with-pitchly-0000000";
    private const string RefreshToken = "plyr_refresh-token-that-must-stay-with-pitchly-000000";

    private RecordingServer _elsewhere = null!;
    private RecordingServer _pitchly = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser(OrganizationId, PersonId);

    private static PitchlyTokenKey Install => PitchlyTokenKey.ForInstall(OrganizationId);

    public async ValueTask InitializeAsync()
    {
        _elsewhere = await RecordingServer.StartAsync(async context =>
        {
            // Answers like Pitchly would, so a followed redirect would look like success.
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path.StartsWithSegments("/graphql")
                ? """{"data":{"viewer":{"person":{"id":"psnElsewhere"}}}}"""
                : $$"""{"access_token":"plyu_from-elsewhere","expires_in":3600,"refresh_token":"plyr_from-elsewhere"}""");
        });
        _pitchly = await RecordingServer.StartAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            context.Response.Headers.Location = new Uri(_elsewhere.Address, context.Request.Path + context.Request.QueryString).ToString();
            return Task.CompletedTask;
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _pitchly.DisposeAsync();
        await _elsewhere.DisposeAsync();
    }

    [Fact]
    public async Task A_refresh_grant_answered_with_a_redirect_is_not_sent_to_the_other_host()
    {
        await using var services = Services();
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(User, Record(), Cancel);

        await Assert.ThrowsAsync<PitchlyTokenEndpointException>(() => services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, AccessToken, Cancel));

        Assert.Single(_pitchly.Requests);
        Assert.Empty(_elsewhere.Requests);
    }

    [Fact]
    public async Task A_client_credentials_grant_answered_with_a_redirect_is_not_sent_to_the_other_host()
    {
        await using var services = Services();

        await Assert.ThrowsAsync<PitchlyTokenEndpointException>(() => services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(Install, Cancel).AsTask());

        Assert.NotEmpty(_pitchly.Requests);
        Assert.Empty(_elsewhere.Requests);
    }

    [Fact]
    public async Task The_typed_GraphQL_client_does_not_follow_a_redirect_with_its_token_variable()
    {
        await using var services = Services(s =>
        {
            s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.Placement = PitchlyTokenPlacement.Both));
            s.Configure<PitchlyGraphQLClientOptions>(o => o.Endpoint = new Uri(_pitchly.Address, "/graphql"));
        });
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(Install, Record(), Cancel);

        await Assert.ThrowsAnyAsync<PitchlyException>(() => services.GetRequiredService<IPitchlyGraphQLClient>().SendAsync<object>(new PitchlyGraphQLRequest("{ viewer { person { id } } }"), Cancel));

        Assert.Single(_pitchly.Requests);
        Assert.Empty(_elsewhere.Requests);
    }

    public static TheoryData<string> Credentials => ["user", "install", "install-by-resolver", "api-key", "self-signed-jwt"];

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task An_HttpClient_with_a_Pitchly_credential_hands_the_redirect_back_instead_of_following_it(string credential)
    {
        await using var services = Services(s => AddCredential(s.AddHttpClient("app"), credential));
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(User, Record(), Cancel);
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(Install, Record(), Cancel);
        SignInUser(services);

        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri(_pitchly.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Single(_pitchly.Requests);
        Assert.Empty(_elsewhere.Requests);
    }

    [Fact]
    public async Task A_primary_handler_the_app_configured_is_kept_and_does_not_follow_redirects_either()
    {
        var own = new CountingHandler();
        await using var services = Services(s => s.AddHttpClient("app")
            .AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.Placement = PitchlyTokenPlacement.GraphQLVariable)
            .ConfigurePrimaryHttpMessageHandler(() => own));
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(Install, Record(), Cancel);

        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri(_pitchly.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(1, own.Sent);
        Assert.False(own.AllowAutoRedirect);
        Assert.Empty(_elsewhere.Requests);
    }

    [Fact]
    public async Task The_sign_in_code_exchange_does_not_follow_a_redirect_with_the_client_secret()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly, options =>
        {
            options.BackchannelHttpHandler = null;
            options.TokenEndpoint = new Uri(_pitchly.Address, "/api/oauth/token").ToString();
        });

        using var callback = await app.SignInAsync();

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.StartsWith(SignInApp.FailurePrefix, await callback.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
        Assert.Single(_pitchly.Requests);
        Assert.Empty(_elsewhere.Requests);
        Assert.Empty(pitchly.TokenRequests);
    }

    private static void AddCredential(IHttpClientBuilder http, string credential)
    {
        switch (credential)
        {
            case "user": http.AddPitchlyUserAccessToken(o => o.Placement = PitchlyTokenPlacement.Both); break;
            case "install": http.AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.Placement = PitchlyTokenPlacement.GraphQLVariable); break;
            case "install-by-resolver": http.AddPitchlyAccessToken(_ => Install, o => o.Placement = PitchlyTokenPlacement.GraphQLVariable); break;
            case "api-key": http.AddPitchlyApiKey(); break;
            case "self-signed-jwt": http.AddPitchlySelfSignedJwt(); break;
            default: throw new ArgumentOutOfRangeException(nameof(credential), credential, null);
        }
    }

    private static void SignInUser(IServiceProvider services)
    {
        var accessor = services.GetService<IHttpContextAccessor>();
        if (accessor is not null)
        {
            var identity = new ClaimsIdentity([new Claim(PitchlyClaimTypes.OrganizationId, OrganizationId), new Claim(PitchlyClaimTypes.PersonId, PersonId)], "test");
            accessor.HttpContext = new DefaultHttpContext { User = new ClaimsPrincipal(identity), RequestServices = services };
        }
    }

    private static StringContent GraphQLBody() =>
        new("""{"query":"{ viewer { person { id } } }","variables":{}}""", Encoding.UTF8, "application/json");

    private static PitchlyTokenRecord Record() => new()
    {
        AccessToken = AccessToken,
        RefreshToken = RefreshToken,
        IssuedAt = DateTimeOffset.UtcNow,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
        OrganizationId = OrganizationId,
    };

    private ServiceProvider Services(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement(o =>
        {
            o.ClientId = "appRedirectTests0001";
            o.ClientSecret = ClientSecret;
            o.TokenEndpoint = new Uri(_pitchly.Address, "/api/oauth/token").ToString();
            o.TokenEndpointRetryTimeout = TimeSpan.Zero;
        });
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>An HttpClientHandler of the app's own, counting what it sends.</summary>
    private sealed class CountingHandler : HttpClientHandler
    {
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sent);
            return base.SendAsync(request, cancellationToken);
        }
    }
}

using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>
/// A Pitchly credential (access token, API key, self-signed token) goes only to Pitchly's configured origins and those
/// the app allows: a request built with another host, or plain http to a remote host, is refused before anything is
/// read or attached. Real Kestrel servers on loopback ports record what reaches them.
/// </summary>
public sealed class CredentialOriginTests : IAsyncLifetime
{
    private const string OrganizationId = "orgOrigins0000000001";
    private const string PersonId = "psnOrigins0000000001";
    private const string ClientSecret = "plys_secret-that-must-stay-with-pitchly-origins-00000";
    private const string AccessToken = "plyu_access-token-that-must-stay-with-pitchly-origin";

    private RecordingServer _pitchly = null!;
    private RecordingServer _elsewhere = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser(OrganizationId, PersonId);

    private static PitchlyTokenKey Install => PitchlyTokenKey.ForInstall(OrganizationId);

    public static TheoryData<string> Credentials => ["user", "install", "api-key", "self-signed-jwt"];

    public async ValueTask InitializeAsync()
    {
        // Both answer as Pitchly would, so a credential sent to the wrong one would look like success.
        static Task Answer(HttpContext context)
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"data":{"viewer":{"person":{"id":"psnOrigins0000000001"}}}}""");
        }

        _pitchly = await RecordingServer.StartAsync(Answer);
        _elsewhere = await RecordingServer.StartAsync(Answer);
    }

    public async ValueTask DisposeAsync()
    {
        await _pitchly.DisposeAsync();
        await _elsewhere.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task A_request_to_another_host_is_refused_and_carries_no_credential_while_Pitchly_still_gets_it(string credential)
    {
        await using var services = await SignedInServicesAsync(s => AddCredential(s.AddHttpClient("app"), credential));
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("app");

        var refused = await Assert.ThrowsAsync<PitchlyOriginNotAllowedException>(() => client.PostAsync(new Uri(_elsewhere.Address, "/graphql?q=private"), GraphQLBody(), Cancel));
        using var toPitchly = await client.PostAsync(new Uri(_pitchly.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Empty(_elsewhere.Requests);
        Assert.Equal(_elsewhere.Origin, refused.Origin);
        Assert.Contains("AllowedOrigins", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("private", refused.Message, StringComparison.Ordinal);
        AssertNoSecretIn(refused.ToString());
        Assert.Equal(HttpStatusCode.OK, toPitchly.StatusCode);
        var seen = Assert.Single(_pitchly.Requests);
        Assert.True(seen.Authorization.Length > 0 || seen.Body.Contains(ClientSecret, StringComparison.Ordinal), "Pitchly received the credential.");
    }

    [Fact]
    public void The_remembered_verdict_covers_only_the_same_uri_instance_so_a_changed_base_address_or_request_uri_is_checked_again()
    {
        var options = new PitchlyAccessTokenHandlerOptions();
        options.AllowedOrigins.Add("https://pitchly.test");
        var origins = new CredentialOrigins("app", options, environment: null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var pitchly = new Uri(new Uri("https://pitchly.test/"), "graphql");

        void Send(Uri uri)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri);
            origins.ThrowIfNotAllowed(request);
        }

        Send(pitchly);
        Send(pitchly);

        // Every other instance is compared in full, right after the allowed one was remembered and again later.
        foreach (var elsewhere in new[]
        {
            new Uri(new Uri("https://elsewhere.test/"), "graphql"),
            new Uri("https://pitchly.test.elsewhere.test/graphql"),
            new Uri("https://pitchly.test:8443/graphql"),
            new Uri("http://pitchly.test/graphql"),
        })
        {
            Send(pitchly);
            Assert.Throws<PitchlyOriginNotAllowedException>(() => Send(elsewhere));
            Assert.Throws<PitchlyOriginNotAllowedException>(() => Send(elsewhere));
        }

        Send(new Uri("https://PITCHLY.test/other"));
        Send(pitchly);
    }

    [Fact]
    public async Task A_client_whose_requests_move_to_another_host_after_calls_to_Pitchly_sends_that_host_nothing()
    {
        await using var services = await SignedInServicesAsync(s => AddCredential(s.AddHttpClient("app"), "user"));
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("app");
        var pitchly = new Uri(_pitchly.Address, "/graphql");

        for (var i = 0; i < 3; i++)
        {
            using var toPitchly = await client.PostAsync(pitchly, GraphQLBody(), Cancel);
            Assert.Equal(HttpStatusCode.OK, toPitchly.StatusCode);
            await Assert.ThrowsAsync<PitchlyOriginNotAllowedException>(() => client.PostAsync(new Uri(_elsewhere.Address, "/graphql"), GraphQLBody(), Cancel));
        }

        Assert.Empty(_elsewhere.Requests);
        Assert.Equal(3, _pitchly.Requests.Count);
    }

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task The_origin_is_checked_before_any_credential_is_read_so_nothing_is_looked_up_or_granted(string credential)
    {
        // No tokens stored and no user: reading a credential would fail differently (sign-in required) or call Pitchly's
        // token endpoint for a client_credentials grant.
        await using var services = Services(s => AddCredential(s.AddHttpClient("app"), credential));

        await Assert.ThrowsAsync<PitchlyOriginNotAllowedException>(() => services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri(_elsewhere.Address, "/graphql"), GraphQLBody(), Cancel));

        Assert.Empty(_elsewhere.Requests);
        Assert.Empty(_pitchly.Requests);
    }

    [Fact]
    public async Task Plain_http_to_a_remote_host_is_refused_even_on_Pitchlys_own_host_and_port()
    {
        // Pitchly's GraphQL endpoint is https on pitchly.example; every connection, whatever host it names, reaches the
        // recording server, so a request that got through would be recorded there.
        var remote = new Uri($"https://pitchly.example:{_elsewhere.Address.Port}/graphql");
        await using var services = await SignedInServicesAsync(s =>
        {
            s.Configure<PitchlyGraphQLClientOptions>(o => o.Endpoint = remote);
            s.AddHttpClient("app")
                .AddPitchlyInstallAccessToken(OrganizationId)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ConnectCallback = ConnectToAsync(_elsewhere.Address.Port) });
        });

        var refused = await Assert.ThrowsAsync<PitchlyOriginNotAllowedException>(() => services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new UriBuilder(remote) { Scheme = Uri.UriSchemeHttp }.Uri, GraphQLBody(), Cancel));

        Assert.Empty(_elsewhere.Requests);
        Assert.Equal($"http://pitchly.example:{_elsewhere.Address.Port}", refused.Origin);
        Assert.Contains("plain http", refused.Message, StringComparison.Ordinal);
        AssertNoSecretIn(refused.ToString());
    }

    [Theory]
    [InlineData("code")]
    [InlineData("configuration")]
    public async Task An_origin_the_app_allows_receives_the_credential(string how)
    {
        await using var services = await SignedInServicesAsync(
            s => s.AddHttpClient("app").AddPitchlyInstallAccessToken(OrganizationId, configure: how == "code" ? o => o.AllowedOrigins.Add(_elsewhere.Origin + "/") : null),
            how == "configuration" ? new() { ["Pitchly:AccessToken:AllowedOrigins:0"] = _elsewhere.Origin.ToUpperInvariant() } : null);

        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri(_elsewhere.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + AccessToken, Assert.Single(_elsewhere.Requests).Authorization);
    }

    [Fact]
    public async Task An_origin_allowed_for_a_self_signed_client_by_name_receives_the_signed_token()
    {
        await using var services = Services(s =>
        {
            s.AddHttpClient("app").AddPitchlySelfSignedJwt();
            s.Configure<PitchlyAccessTokenHandlerOptions>("app", o => o.AllowedOrigins.Add(_elsewhere.Origin));
        });

        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri(_elsewhere.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("Bearer ey", Assert.Single(_elsewhere.Requests).Authorization, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://gateway.example/graphql", "origins only")]
    [InlineData("gateway.example", "origins only")]
    [InlineData("https://user@gateway.example", "origins only")]
    [InlineData("http://gateway.example", "uses http")]
    public async Task An_allowed_origin_that_is_not_an_origin_or_is_plain_http_to_a_remote_host_stops_the_start(string origin, string expected)
    {
        await using var services = Services(s => s.AddHttpClient("app").AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.AllowedOrigins.Add(origin)));

        var thrown = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get("app"));

        Assert.Contains("Pitchly:AccessToken:AllowedOrigins", thrown.Message, StringComparison.Ordinal);
        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_Development_an_allowed_plain_http_remote_origin_receives_the_credential()
    {
        var remote = new Uri($"http://pitchly.example:{_elsewhere.Address.Port}/graphql");
        await using var services = await SignedInServicesAsync(s =>
        {
            s.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Development });
            s.AddHttpClient("app")
                .AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.AllowedOrigins.Add("http://pitchly.example:" + _elsewhere.Address.Port))
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { ConnectCallback = ConnectToAsync(_elsewhere.Address.Port) });
        });

        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("app").PostAsync(remote, GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + AccessToken, Assert.Single(_elsewhere.Requests).Authorization);
    }

    [Theory]
    [MemberData(nameof(Credentials))]
    public async Task A_primary_handler_whose_redirects_cannot_be_turned_off_fails_when_the_client_is_created(string credential)
    {
        await using var services = Services(s => AddCredential(s.AddHttpClient("app"), credential).ConfigurePrimaryHttpMessageHandler(() => new ForwardingHandler()));

        var thrown = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IHttpClientFactory>().CreateClient("app"));

        Assert.Contains("'app'", thrown.Message, StringComparison.Ordinal);
        Assert.Contains(typeof(ForwardingHandler).FullName!, thrown.Message, StringComparison.Ordinal);
        Assert.Contains("AllowCustomPrimaryHandler", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_custom_primary_handler_the_client_allows_is_used()
    {
        await using var services = await SignedInServicesAsync(s =>
        {
            s.AddHttpClient("app")
                .AddPitchlyInstallAccessToken(OrganizationId, configure: o => o.AllowCustomPrimaryHandler = true)
                .ConfigurePrimaryHttpMessageHandler(() => new ForwardingHandler());
            s.AddHttpClient("wrapped")
                .AddPitchlyInstallAccessToken(OrganizationId)
                .ConfigurePrimaryHttpMessageHandler(() => new PassThroughHandler { InnerHandler = new SocketsHttpHandler() });
        });
        var clients = services.GetRequiredService<IHttpClientFactory>();

        using var custom = await clients.CreateClient("app").PostAsync(new Uri(_pitchly.Address, "/graphql"), GraphQLBody(), Cancel);
        using var wrapped = await clients.CreateClient("wrapped").PostAsync(new Uri(_pitchly.Address, "/graphql"), GraphQLBody(), Cancel);

        Assert.Equal(HttpStatusCode.OK, custom.StatusCode);
        Assert.Equal(HttpStatusCode.OK, wrapped.StatusCode);
        Assert.All(_pitchly.Requests, seen => Assert.Equal("Bearer " + AccessToken, seen.Authorization));
        Assert.Equal(2, _pitchly.Requests.Count);
    }

    private static IHttpClientBuilder AddCredential(IHttpClientBuilder http, string credential) => credential switch
    {
        "user" => http.AddPitchlyUserAccessToken(),
        "install" => http.AddPitchlyInstallAccessToken(OrganizationId),
        "api-key" => http.AddPitchlyApiKey(),
        "self-signed-jwt" => http.AddPitchlySelfSignedJwt(),
        _ => throw new ArgumentOutOfRangeException(nameof(credential), credential, null),
    };

    private static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectToAsync(int port) => async (_, cancellationToken) =>
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    };

    private static StringContent GraphQLBody() =>
        new("""{"query":"{ viewer { person { id } } }","variables":{}}""", Encoding.UTF8, "application/json");

    private static void AssertNoSecretIn(string text)
    {
        Assert.DoesNotContain(AccessToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, text, StringComparison.Ordinal);
    }

    private async Task<ServiceProvider> SignedInServicesAsync(Action<IServiceCollection> configure, Dictionary<string, string?>? configuration = null)
    {
        var services = Services(configure, configuration);
        var now = DateTimeOffset.UtcNow;
        var record = new PitchlyTokenRecord { AccessToken = AccessToken, RefreshToken = "plyr_never-spent", IssuedAt = now, ExpiresAt = now.AddHours(1), OrganizationId = OrganizationId };
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        await store.SetAsync(User, record, Cancel);
        await store.SetAsync(Install, record, Cancel);
        return services;
    }

    private ServiceProvider Services(Action<IServiceCollection> configure, Dictionary<string, string?>? configuration = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? []).Build());
        var identity = new ClaimsIdentity([new Claim(PitchlyClaimTypes.OrganizationId, OrganizationId), new Claim(PitchlyClaimTypes.PersonId, PersonId)], "test");
        services.AddSingleton<IHttpContextAccessor>(new AlwaysSignedIn(new DefaultHttpContext { User = new ClaimsPrincipal(identity) }));
        services.AddPitchlyTokenManagement(o =>
        {
            o.ClientId = "appOriginTests000001";
            o.ClientSecret = ClientSecret;
            o.TokenEndpoint = new Uri(_pitchly.Address, "/api/oauth/token").ToString();
            o.TokenEndpointRetryTimeout = TimeSpan.Zero;
        });
        configure(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>A primary handler that is neither HttpClientHandler nor SocketsHttpHandler: it forwards in process.</summary>
    private sealed class ForwardingHandler : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _network = new(new SocketsHttpHandler { AllowAutoRedirect = false });

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _network.SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _network.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The person is signed in for every call, whatever async flow makes it.</summary>
    private sealed class AlwaysSignedIn(HttpContext context) : IHttpContextAccessor
    {
        public HttpContext? HttpContext { get => context; set { } }
    }

    /// <summary>A delegating primary handler around a SocketsHttpHandler, whose redirects the package can still turn off.</summary>
    private sealed class PassThroughHandler : DelegatingHandler;
}

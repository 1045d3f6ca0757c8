namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>
/// IHttpClientFactory keeps a handler (and the scope it was built in) for minutes; the key resolver of
/// <c>AddPitchlyAccessToken(Func&lt;IServiceProvider, PitchlyTokenKey&gt;)</c> must see each request's own services.
/// </summary>
public sealed class KeyResolverScopeTests
{
    private const string Acme = "orgAcme0000000000001";
    private const string Globex = "orgGlobex00000000001";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_request_resolves_its_key_from_its_own_request_services()
    {
        var seen = new ConcurrentQueue<string?>();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddScoped<Tenant>();
        AddClient(builder.Services, seen);
        await using var app = builder.Build();
        app.Use((context, next) =>
        {
            context.RequestServices.GetRequiredService<Tenant>().OrganizationId = context.Request.Headers["X-Organization"];
            return next(context);
        });
        app.MapGet("/call", async (IHttpClientFactory clients) =>
        {
            using var response = await clients.CreateClient("tenant").PostAsync(new Uri("https://api.pitchly.test/graphql"), Body(), Cancel);
            return Results.StatusCode((int)response.StatusCode);
        });
        await app.StartAsync(Cancel);
        await StoreInstallTokensAsync(app.Services);
        using var browser = app.GetTestClient();

        foreach (var organization in new[] { Acme, Globex, Acme })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/call");
            request.Headers.Add("X-Organization", organization);
            using var response = await browser.SendAsync(request, Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(["Bearer plyu_token-of-" + Acme, "Bearer plyu_token-of-" + Globex, "Bearer plyu_token-of-" + Acme], seen);
    }

    [Fact]
    public async Task Without_a_request_each_call_resolves_its_key_in_a_fresh_scope_that_is_disposed_afterwards()
    {
        var seen = new ConcurrentQueue<string?>();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddScoped<Tenant>();
        AddClient(services, seen, tenant => tenant.OrganizationId = Globex);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        await StoreInstallTokensAsync(provider);
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("tenant");

        using (await client.PostAsync(new Uri("https://api.pitchly.test/graphql"), Body(), Cancel))
        using (await client.PostAsync(new Uri("https://api.pitchly.test/graphql"), Body(), Cancel))
        {
        }

        Assert.Equal(["Bearer plyu_token-of-" + Globex, "Bearer plyu_token-of-" + Globex], seen);
        Assert.Equal(2, Tenant.Created.Count);
        Assert.All(Tenant.Created, tenant => Assert.True(tenant.Disposed));
    }

    private static void AddClient(IServiceCollection services, ConcurrentQueue<string?> seen, Action<Tenant>? prepare = null)
    {
        Tenant.Created.Clear();
        services.AddPitchlyTokenManagement(o => { o.ClientId = "appScopes00000000001"; o.ClientSecret = "plys_secret-of-the-scope-tests-000000000000"; });
        services.AddHttpClient("tenant")
            .AddPitchlyAccessToken(requestServices =>
            {
                var tenant = requestServices.GetRequiredService<Tenant>();
                prepare?.Invoke(tenant);
                return PitchlyTokenKey.ForInstall(tenant.OrganizationId ?? throw new InvalidOperationException("No tenant in these services."));
            },
            o =>
            {
                // The recording handler stands in for the network, and for Pitchly at a test host.
                o.AllowCustomPrimaryHandler = true;
                o.AllowedOrigins.Add("https://api.pitchly.test");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new RecordingHandler(seen));
    }

    private static async Task StoreInstallTokensAsync(IServiceProvider services)
    {
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        foreach (var organization in new[] { Acme, Globex })
        {
            await store.SetAsync(PitchlyTokenKey.ForInstall(organization), new PitchlyTokenRecord
            {
                AccessToken = "plyu_token-of-" + organization,
                ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
                OrganizationId = organization,
            }, Cancel);
        }
    }

    private static StringContent Body() => new("""{"query":"{ organization { id } }"}""", System.Text.Encoding.UTF8, "application/json");

    /// <summary>The current tenant, set per request by the app's middleware.</summary>
    private sealed class Tenant : IDisposable
    {
        public Tenant() => Created.Enqueue(this);

        public static ConcurrentQueue<Tenant> Created { get; } = new();

        public string? OrganizationId { get; set; }

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    private sealed class RecordingHandler(ConcurrentQueue<string?> seen) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            seen.Enqueue(request.Headers.Authorization?.ToString());
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("""{"data":{"organization":{"id":"x"}}}""", System.Text.Encoding.UTF8, "application/json"),
            });
        }
    }
}

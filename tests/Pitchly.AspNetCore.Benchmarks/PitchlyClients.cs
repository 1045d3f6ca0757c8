using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Duende.IdentityModel.OidcClient;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The clients the handler benchmarks compare, built the way an application builds them (IHttpClientFactory, the
/// user-token handler, the in-memory store), all sending to one <see cref="FakePitchlyHandler"/>. A signed-in user
/// with a valid token is in place, so every call takes the cached-token path.
/// </summary>
internal sealed class PitchlyClients : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = MediaTypeHeaderValue.Parse("application/json");
    private readonly ServiceProvider _services;
    private readonly byte[] _readBuffer = new byte[16 * 1024];

    private PitchlyClients(ServiceProvider services, FakePitchlyHandler pitchly, FakePitchlyHandler tokenEndpoint)
    {
        _services = services;
        Pitchly = pitchly;
        TokenEndpoint = tokenEndpoint;
        var factory = services.GetRequiredService<IHttpClientFactory>();
        Baseline = factory.CreateClient("baseline");
        Bearer = factory.CreateClient("bearer");
        BearerStatusOnly = factory.CreateClient("bearer-status-only");
        Variable = factory.CreateClient("variable");
        StandardResilience = factory.CreateClient("resilience");
        DuendeRefreshToken = factory.CreateClient("duende");
    }

    public FakePitchlyHandler Pitchly { get; }

    /// <summary>Gets the token endpoint's stand-in: any call to it means the cached token was not used.</summary>
    public FakePitchlyHandler TokenEndpoint { get; }

    /// <summary>Gets a client with no Pitchly handler: what the same call costs without token handling.</summary>
    public HttpClient Baseline { get; }

    /// <summary>Gets a client that sends the user's token in the Authorization header (the default placement).</summary>
    public HttpClient Bearer { get; }

    /// <summary>
    /// Gets the Bearer client with <see cref="PitchlyAccessTokenHandlerOptions.InvalidTokenErrorCodes"/> cleared: only
    /// HTTP 401 counts, so no answer is peeked at. The like-for-like peer of Duende's handler, which also reacts to 401 only.
    /// </summary>
    public HttpClient BearerStatusOnly { get; }

    /// <summary>Gets a client that writes the user's token into the GraphQL variable <c>accessToken</c>.</summary>
    public HttpClient Variable { get; }

    /// <summary>
    /// Gets the same client with Microsoft's standard resilience handler instead of the Pitchly handler: the in-run peer
    /// for what a delegating handler on every call may reasonably cost.
    /// </summary>
    public HttpClient StandardResilience { get; }

    /// <summary>
    /// Gets the same client with Duende.IdentityModel.OidcClient's <c>RefreshTokenDelegatingHandler</c> instead of the
    /// Pitchly handler: the second in-run peer, the handler .NET applications use to attach a token and refresh on 401.
    /// It holds one user's tokens in the handler itself (no store, no key per request).
    /// </summary>
    public HttpClient DuendeRefreshToken { get; }

    public static async Task<PitchlyClients> CreateAsync()
    {
        var pitchly = new FakePitchlyHandler();
        var tokenEndpoint = new FakePitchlyHandler();
        var user = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, "person-42"), new Claim(PitchlyClaimTypes.OrganizationId, "org-7")],
            "Cookies"));

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHttpContextAccessor>(new SignedInUser(new DefaultHttpContext { User = user }));
        services.AddPitchlyTokenManagement();
        services.AddHttpClient(PitchlyTokenClient.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => tokenEndpoint);
        services.AddHttpClient("baseline")
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddHttpClient("bearer")
            .AddPitchlyUserAccessToken(AtCannedPitchly)
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddHttpClient("bearer-status-only")
            .AddPitchlyUserAccessToken(options =>
            {
                AtCannedPitchly(options);
                options.InvalidTokenErrorCodes.Clear();
            })
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddHttpClient("variable")
            .AddPitchlyUserAccessToken(options =>
            {
                AtCannedPitchly(options);
                options.Placement = PitchlyTokenPlacement.GraphQLVariable;
            })
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);

        services.AddHttpClient("resilience")
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler();

        // Its token endpoint is never reached: the token is valid and no answer is a 401.
        var oidcClient = new OidcClient(new OidcClientOptions
        {
            Authority = "https://login.pitchly.test",
            ClientId = "benchmark",
            Scope = "openid",
            RedirectUri = "http://127.0.0.1/callback",
        });
        services.AddHttpClient("duende")
            .ConfigurePrimaryHttpMessageHandler(() => pitchly)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddHttpMessageHandler(() => new RefreshTokenDelegatingHandler(oidcClient, CannedPitchly.AccessToken, "refresh", "Bearer", innerHandler: null));

        var provider = services.BuildServiceProvider();
        var now = TimeProvider.System.GetUtcNow();
        await provider.GetRequiredService<IPitchlyTokenStore>().SetAsync(
            PitchlyTokenKey.ForUser("org-7", "person-42"),
            new PitchlyTokenRecord { AccessToken = CannedPitchly.AccessToken, RefreshToken = "refresh", IssuedAt = now, ExpiresAt = now.AddHours(10) });

        var clients = new PitchlyClients(provider, pitchly, tokenEndpoint);
        await clients.VerifyAsync();
        return clients;
    }

    /// <summary>Sends one GraphQL POST and reads the whole answer, as a caller streaming the response would.</summary>
    public async Task<int> SendAsync(HttpClient client, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, CannedPitchly.GraphQLEndpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Json;
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var total = 0;
        int read;
        while ((read = await stream.ReadAsync(_readBuffer)) > 0)
        {
            total += read;
        }

        return total;
    }

    /// <summary>Throws unless the clients do what the benchmarks claim to measure, and the token endpoint was never called.</summary>
    public void EnsureTokenEndpointUnused()
    {
        if (TokenEndpoint.Requests != 0)
        {
            throw new InvalidOperationException($"The token endpoint was called {TokenEndpoint.Requests} times: the cached token was not used.");
        }
    }

    public void Dispose() => _services.Dispose();

    private async Task VerifyAsync()
    {
        Pitchly.CaptureRequests = true;
        await SendAsync(Baseline, CannedPitchly.SmallRequest);
        Require(Pitchly.LastRequest.Authorization is null, "the baseline client must not attach a token");

        await SendAsync(Bearer, CannedPitchly.SmallRequest);
        Require(Pitchly.LastRequest.Authorization == "Bearer " + CannedPitchly.AccessToken, "the bearer client must send the cached token");
        Require(Pitchly.LastRequest.Body.AsSpan().SequenceEqual(CannedPitchly.SmallRequest), "the bearer client must send the body unchanged");

        await SendAsync(BearerStatusOnly, CannedPitchly.SmallRequest);
        Require(Pitchly.LastRequest.Authorization == "Bearer " + CannedPitchly.AccessToken, "the status-only bearer client must send the cached token");
        Require(Pitchly.LastRequest.Body.AsSpan().SequenceEqual(CannedPitchly.SmallRequest), "the status-only bearer client must send the body unchanged");

        await SendAsync(Variable, CannedPitchly.LargeRequest);
        Require(
            Pitchly.LastRequest.Authorization is null
                && Encoding.UTF8.GetString(Pitchly.LastRequest.Body!).StartsWith("{\"query\":\"mutation Import($rows: [RowInput!]!) { importRows(rows: $rows) { count } }\",\"variables\":{\"accessToken\":\"" + CannedPitchly.AccessToken + "\",\"rows\":[", StringComparison.Ordinal),
            "the variable client must write the cached token into variables.accessToken");

        await SendAsync(StandardResilience, CannedPitchly.SmallRequest);
        Require(
            Pitchly.LastRequest.Authorization is null && Pitchly.LastRequest.Body.AsSpan().SequenceEqual(CannedPitchly.SmallRequest),
            "the standard resilience client must send the body unchanged and no token");
        await SendAsync(DuendeRefreshToken, CannedPitchly.SmallRequest);
        Require(
            Pitchly.LastRequest.Authorization == "Bearer " + CannedPitchly.AccessToken && Pitchly.LastRequest.Body.AsSpan().SequenceEqual(CannedPitchly.SmallRequest),
            "the Duende client must send the token and the body unchanged");
        Pitchly.CaptureRequests = false;

        // The standard pipeline must really be in the chain: a 503 is retried (after its first back-off, about 2 s).
        var before = Pitchly.Requests;
        Pitchly.UnavailableAnswers = 1;
        Require(await SendAsync(StandardResilience, CannedPitchly.SmallRequest) == CannedPitchly.DataFirstResponse.Length, "the standard resilience client must read the retried answer");
        Require(Pitchly.Requests == before + 2 && Pitchly.UnavailableAnswers == 0, $"the standard resilience client must retry a 503 once, but sent {Pitchly.Requests - before} requests");

        // A successful answer must reach the caller unbuffered: only the peek at its first member is read before.
        Pitchly.ResponseBody = CannedPitchly.LargeDataFirstResponse;
        using (var request = new HttpRequestMessage(HttpMethod.Post, CannedPitchly.GraphQLEndpoint) { Content = new ByteArrayContent(CannedPitchly.SmallRequest) })
        {
            request.Content.Headers.ContentType = Json;
            using var response = await Bearer.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var readBeforeCaller = Pitchly.LastResponse!.BytesRead;
            Require(readBeforeCaller <= 4096, $"a data-first answer must stream through, but {readBeforeCaller} of {CannedPitchly.LargeDataFirstResponse.Length} bytes were read before the caller got it");
            Require((await response.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(CannedPitchly.LargeDataFirstResponse), "the caller must receive the answer byte for byte");
            Console.WriteLine($"// Data-first answer of {CannedPitchly.LargeDataFirstResponse.Length} bytes: {readBeforeCaller} bytes read by the handler before the caller got it.");
        }

        Pitchly.ResponseBody = CannedPitchly.DataFirstResponse;
        EnsureTokenEndpointUnused();
    }

    // The canned handler stands in for the network, and for Pitchly at a test host.
    private static void AtCannedPitchly(PitchlyAccessTokenHandlerOptions options)
    {
        options.AllowCustomPrimaryHandler = true;
        options.AllowedOrigins.Add(CannedPitchly.GraphQLEndpoint.GetLeftPart(UriPartial.Authority));
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: " + message + ".");
        }
    }

    /// <summary>
    /// The request of a signed-in user, for every call. ASP.NET Core's accessor keeps the context in an AsyncLocal,
    /// which a value set during the benchmark's set-up does not reach.
    /// </summary>
    private sealed class SignedInUser(HttpContext context) : IHttpContextAccessor
    {
        public HttpContext? HttpContext
        {
            get => context;
            set => throw new NotSupportedException();
        }
    }
}

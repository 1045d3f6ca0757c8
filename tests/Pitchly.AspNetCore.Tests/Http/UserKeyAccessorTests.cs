using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>
/// Whose tokens a call "as the user" carries: inside a Blazor circuit's activity the circuit's user (its
/// AuthenticationStateProvider), whatever request the async flow may or may not still see; elsewhere the request's user;
/// and an application's own <see cref="IPitchlyUserKeyAccessor"/>, scoped, sees each request's own services.
/// </summary>
public sealed class UserKeyAccessorTests
{
    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");
    private static readonly PitchlyTokenKey Bob = PitchlyTokenKey.ForUser("org_1", "psn_bob");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_default_accessor_hands_out_the_same_key_while_the_requests_user_is_the_same()
    {
        var services = new ServiceCollection();
        services.AddPitchlyTokenManagement();
        services.AddHttpClient("pitchly").AddPitchlyUserAccessToken();
        var request = new DefaultHttpContext { User = Principal(Alice) };
        services.AddSingleton<IHttpContextAccessor>(new HttpContextAccessor { HttpContext = request });
        await using var provider = services.BuildServiceProvider();
        var accessor = provider.GetRequiredService<IPitchlyUserKeyAccessor>();

        var first = await accessor.GetCurrentUserKeyAsync(Cancel);
        request.User = Principal(Alice);
        var again = await accessor.GetCurrentUserKeyAsync(Cancel);
        request.User = Principal(Bob);
        var other = await accessor.GetCurrentUserKeyAsync(Cancel);

        // The same user's key is not built again (it ran on every call of a user's HttpClient); another user's is.
        Assert.Equal(Alice, first);
        Assert.Same(first, again);
        Assert.Equal(Bob, other);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Inside_a_circuit_calls_are_made_as_the_circuits_user_with_or_without_a_request_in_sight(bool staleRequestOfAnotherUser)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyUserAccessToken();
            s.AddPitchlyBlazor();
            s.AddScoped<AuthenticationStateProvider, FixedAuthenticationStateProvider>();
        });
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        await TestServices.SignInAsync(services, pitchly, Bob, time);

        // Over long polling the circuit's activity sees no request; over WebSockets, the connection's, which may be stale.
        services.GetRequiredService<IHttpContextAccessor>().HttpContext = staleRequestOfAnotherUser ? new DefaultHttpContext { User = Principal(Bob) } : null;
        await using var circuit = services.CreateAsyncScope();
        ((FixedAuthenticationStateProvider)circuit.ServiceProvider.GetRequiredService<AuthenticationStateProvider>()).User = Principal(Alice);
        string? person = null;
        var activity = circuit.ServiceProvider.GetServices<CircuitHandler>()
            .Aggregate<CircuitHandler, Func<CircuitInboundActivityContext, Task>>(async _ => person = await CallAsync(services), (next, handler) => handler.CreateInboundActivityHandler(next));

        await activity(null!);

        Assert.Equal("psn_alice", person);
        if (staleRequestOfAnotherUser)
        {
            Assert.Equal("psn_bob", await CallAsync(services));
        }
        else
        {
            await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => CallAsync(services));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_applications_scoped_accessor_is_asked_with_each_requests_own_services(bool registeredFirst)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            if (registeredFirst)
            {
                s.AddScoped<IPitchlyUserKeyAccessor, ChosenUser>();
            }

            s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyUserAccessToken();
            if (!registeredFirst)
            {
                s.AddScoped<IPitchlyUserKeyAccessor, ChosenUser>();
            }
        });
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        await TestServices.SignInAsync(services, pitchly, Bob, time);
        var seen = new List<string>();

        foreach (var user in new[] { Bob, Alice, Bob })
        {
            await using var request = services.CreateAsyncScope();
            ((ChosenUser)request.ServiceProvider.GetRequiredService<IPitchlyUserKeyAccessor>()).Key = user;
            services.GetRequiredService<IHttpContextAccessor>().HttpContext = new DefaultHttpContext { RequestServices = request.ServiceProvider };
            seen.Add(await CallAsync(services));
        }

        Assert.Equal(["psn_bob", "psn_alice", "psn_bob"], seen);
    }

    [Fact]
    public async Task A_per_call_key_resolver_sees_the_circuits_scoped_services_inside_a_circuit()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddScoped<ChosenUser>();
            s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
                .AddPitchlyAccessToken(scoped => scoped.GetRequiredService<ChosenUser>().Key ?? throw new PitchlySignInRequiredException());
            s.AddPitchlyBlazor();
        });
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        await using var circuit = services.CreateAsyncScope();
        circuit.ServiceProvider.GetRequiredService<ChosenUser>().Key = Alice;
        string? person = null;
        var activity = circuit.ServiceProvider.GetServices<CircuitHandler>()
            .Aggregate<CircuitHandler, Func<CircuitInboundActivityContext, Task>>(async _ => person = await CallAsync(services), (next, handler) => handler.CreateInboundActivityHandler(next));

        await activity(null!);

        Assert.Equal("psn_alice", person);
        await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => CallAsync(services));
    }

    private static async Task<string> CallAsync(IServiceProvider services)
    {
        using var response = await services.GetRequiredService<IHttpClientFactory>().CreateClient("pitchly")
            .PostAsync("", new StringContent("""{"query":"{ viewer { person { id } } }"}""", Encoding.UTF8, "application/json"), Cancel);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
        return document.RootElement.GetProperty("data").GetProperty("viewer").GetProperty("person").GetProperty("id").GetString()!;
    }

    private static ClaimsPrincipal Principal(PitchlyTokenKey key)
        => new(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, key.PersonId!), new Claim(PitchlyClaimTypes.OrganizationId, key.OrganizationId)], "test"));

    private sealed class FixedAuthenticationStateProvider : AuthenticationStateProvider
    {
        public ClaimsPrincipal User { get; set; } = new(new ClaimsIdentity());

        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(User));
    }

    private sealed class ChosenUser : IPitchlyUserKeyAccessor
    {
        public PitchlyTokenKey? Key { get; set; }

        public ValueTask<PitchlyTokenKey?> GetCurrentUserKeyAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Key);
    }
}

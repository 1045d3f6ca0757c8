using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using static Pitchly.AspNetCore.Tests.Subscriptions.SubscriptionApp;

namespace Pitchly.AspNetCore.Tests.Subscriptions;

/// <summary>
/// A component subscribes while its circuit handles the browser's activity, where no request is in sight (long
/// polling): the subscription runs as the circuit's user, read when subscribing, for as long as it lasts.
/// </summary>
public sealed class CircuitSubscriptionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly PitchlyGraphQLRequest RowsChanged = new(
        "subscription Rows($db: ID!) { dataRowsChanged(databaseId: $db) { id sequence } }",
        new Dictionary<string, object?> { ["db"] = "db1" });

    [Fact]
    public async Task Subscribing_in_a_circuits_activity_subscribes_as_the_circuits_user()
    {
        await using var app = await StartAsync(services: s =>
        {
            s.AddPitchlyBlazor();
            s.AddScoped<AuthenticationStateProvider, CircuitUser>();
        });
        var record = await app.SignInAsync(Ada);
        app.Services.GetRequiredService<IHttpContextAccessor>().HttpContext = null;
        await using var circuit = app.Services.CreateAsyncScope();
        ((CircuitUser)circuit.ServiceProvider.GetRequiredService<AuthenticationStateProvider>()).User = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(PitchlyClaimTypes.PersonId, Ada.PersonId!), new Claim(PitchlyClaimTypes.OrganizationId, Ada.OrganizationId)], "Cookies"));
        IAsyncEnumerable<PitchlyGraphQLResponse<JsonElement>>? subscription = null;
        var activity = circuit.ServiceProvider.GetServices<CircuitHandler>()
            .Aggregate<CircuitHandler, Func<CircuitInboundActivityContext, Task>>(
                _ =>
                {
                    subscription = app.Client.SubscribeAsync<JsonElement>(RowsChanged, Cancellation);
                    return Task.CompletedTask;
                },
                (next, handler) => handler.CreateInboundActivityHandler(next));

        await activity(null!);

        // Read after the activity is over, as a component's loop does.
        await using var events = subscription!.GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(new JsonObject { ["dataRowsChanged"] = new JsonObject { ["id"] = "row1", ["sequence"] = 1 } });
        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal("Bearer " + record.AccessToken, Assert.Single(app.Pitchly.SeenConnectionInits));

        // Outside the circuit's activity, with no request, nobody is signed in.
        await Assert.ThrowsAsync<PitchlySignInRequiredException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<JsonElement>(RowsChanged, Cancellation))
            {
            }
        });
    }

    private sealed class CircuitUser : AuthenticationStateProvider
    {
        public ClaimsPrincipal User { get; set; } = new(new ClaimsIdentity());

        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(User));
    }
}

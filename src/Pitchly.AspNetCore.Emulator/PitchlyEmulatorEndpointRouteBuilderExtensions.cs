using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.AspNetCore.Emulator.Internal.Endpoints;
using Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Pitchly emulator's endpoints.</summary>
public static class PitchlyEmulatorEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, at the root of <paramref name="endpoints"/>: <c>GET|POST /oauth/authorize</c>, <c>POST /api/oauth/token</c>,
    /// <c>POST /graphql</c>, <c>/subscriptions</c> (GraphQL over WebSocket, <c>graphql-transport-ws</c>; it brings its own
    /// WebSocket middleware) and the emulator-only <c>/_emulator/…</c> endpoints (stats, settings, invalidate,
    /// app-sdk-token, graphql-requests, users, data changes that raise events). Requires <c>services.AddPitchlyEmulator()</c>.
    /// Every endpoint refuses callers that are not on loopback unless <see cref="PitchlyEmulatorOptions.AllowRemote"/> is set,
    /// and the app stops at start-up when its server listens on a non-loopback address without that setting; the
    /// <c>/_emulator/…</c> endpoints also refuse a non-loopback <c>Host</c> or <c>Origin</c> and bodies that are not JSON.
    /// </summary>
    /// <param name="endpoints">The route builder (an app or a route group).</param>
    /// <returns>A builder to add conventions to every emulator endpoint.</returns>
    /// <exception cref="InvalidOperationException">The emulator's services are not registered.</exception>
    public static IEndpointConventionBuilder MapPitchlyEmulator(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var emulator = endpoints.ServiceProvider.GetService<PitchlyEmulator>()
            ?? throw new InvalidOperationException(
                "The Pitchly emulator's services are not registered: call builder.Services.AddPitchlyEmulator() before MapPitchlyEmulator().");

        var group = endpoints.MapGroup(string.Empty);
        var authorize = new AuthorizeEndpoint(emulator);
        group.MapGet(PitchlyEmulatorDefaults.AuthorizationPath, authorize.HandleGetAsync);
        group.MapPost(PitchlyEmulatorDefaults.AuthorizationPath, authorize.HandlePostAsync);
        group.MapPost(PitchlyEmulatorDefaults.TokenPath, new TokenEndpoint(emulator).HandleAsync);
        group.MapPost(PitchlyEmulatorDefaults.GraphQLPath, new GraphQLEndpoint(emulator).HandleAsync);
        var subscriptions = endpoints.CreateApplicationBuilder();
        subscriptions.UseWebSockets();
        subscriptions.Run(new SubscriptionsEndpoint(emulator).HandleAsync);
        group.Map(PitchlyEmulatorDefaults.SubscriptionsPath, subscriptions.Build());
        AdminEndpoints.Map(group, emulator);
        EndpointGuard.Apply(group, emulator);
        emulator.EndpointsMapped = true;
        return group;
    }
}

using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Users;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes calls as the signed-in user work inside interactive Blazor Server circuits.</summary>
public static class PitchlyBlazorServiceCollectionExtensions
{
    /// <summary>
    /// Makes the user of a Blazor circuit (its <c>AuthenticationStateProvider</c>) the user that the user-token handler,
    /// the typed GraphQL client and <see cref="IPitchlySubscriptionClient"/> call Pitchly as, for whatever the browser
    /// starts in the circuit (UI events, JavaScript calls, the first interactive render), over WebSockets and long
    /// polling alike. Outside circuits (prerendering, MVC, APIs) the request's user is used, as without this call.
    /// Safe to call more than once, in any order with the other Pitchly registrations.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>The same services.</returns>
    /// <remarks>
    /// Work that the browser did not start (a timer, a background service pushing into a component) is not part of the
    /// circuit's inbound activity: read the key once with <see cref="IPitchlyUserKeyAccessor"/> in the component and
    /// pass it explicitly (for example to <c>SubscribeAsync(key, request)</c>). When the user must sign in again, calls
    /// throw <see cref="PitchlySignInRequiredException"/>: catch it in the component and navigate to the sign-in
    /// endpoint with <c>forceLoad: true</c>; <c>UsePitchlySignInRequiredChallenge()</c> only sees HTTP requests.
    /// </remarks>
    public static IServiceCollection AddPitchlyBlazor(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        PitchlyUserKeyRegistration.AddCircuitSupport(services);
        return services;
    }
}

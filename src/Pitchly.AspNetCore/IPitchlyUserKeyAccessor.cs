namespace Pitchly.AspNetCore;

/// <summary>
/// Tells whose tokens a call "as the signed-in user" carries: the user-token handler
/// (<c>AddPitchlyUserAccessToken</c>), the typed GraphQL client registered for the user and
/// <see cref="IPitchlySubscriptionClient"/>'s <c>SubscribeAsync(request)</c> ask it on every call.
/// </summary>
/// <remarks>
/// The package's implementation reads the user of the current HTTP request and, after
/// <c>services.AddPitchlyBlazor()</c>, the user of the current Blazor circuit (its
/// <c>AuthenticationStateProvider</c>), where there is no request to read. To decide differently, register your own
/// implementation (singleton, scoped or transient, before or after the package's registrations; the last one registered
/// is used). A singleton is asked directly; a scoped or transient one is resolved on every call from the services of the
/// current circuit, else of the current request, else of a scope created for that one call, so it sees the circuit's or
/// the request's own scoped services.
/// </remarks>
public interface IPitchlyUserKeyAccessor
{
    /// <summary>Gets the key of the user the current call is made for.</summary>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The user's key, or <see langword="null"/> when no user signed in with Pitchly is present (the caller then throws <see cref="PitchlySignInRequiredException"/>).</returns>
    ValueTask<PitchlyTokenKey?> GetCurrentUserKeyAsync(CancellationToken cancellationToken = default);
}

using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Pitchly middleware to the request pipeline.</summary>
public static class PitchlyApplicationBuilderExtensions
{
    /// <summary>
    /// Handles a <see cref="PitchlySignInRequiredException"/> escaping a request (the user's Pitchly tokens are gone or
    /// were refused). A page navigation (GET or HEAD accepting HTML, <c>Sec-Fetch-Mode: navigate</c> where the browser
    /// sends it) gets a sign-in challenge, that is a redirect to Pitchly that brings the user back to the same page. Any
    /// other request (fetch, XHR, <c>Accept: application/json</c>, POST) gets 401 with <c>WWW-Authenticate</c> and a
    /// problem details body saying the user must sign in again, written by <see cref="IProblemDetailsService"/> when one
    /// is registered. Missing or refused tokens of an install (<see cref="PitchlyTokenKind.Install"/>) never redirect: they
    /// answer 503 with a problem details body; a <see cref="PitchlyOrganizationNotRegisteredException"/> (an install of an
    /// organization outside <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>) answers 403. Place it after <c>UseAuthentication()</c> and before the endpoints; a
    /// response that has already started is left alone.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="authenticationScheme">The scheme to challenge; <see langword="null"/> uses the default challenge scheme.</param>
    /// <returns>The same application.</returns>
    public static IApplicationBuilder UsePitchlySignInRequiredChallenge(this IApplicationBuilder app, string? authenticationScheme = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<PitchlySignInRequiredChallengeMiddleware>(authenticationScheme ?? string.Empty);
    }
}

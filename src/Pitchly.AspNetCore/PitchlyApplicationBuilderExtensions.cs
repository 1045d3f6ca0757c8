using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Pitchly middleware to the request pipeline.</summary>
public static class PitchlyApplicationBuilderExtensions
{
    /// <summary>
    /// Turns a <see cref="PitchlySignInRequiredException"/> escaping a request (the user's Pitchly tokens are gone or
    /// were refused) into a sign-in challenge, that is a redirect to Pitchly that brings the user back to the same page.
    /// Place it after <c>UseAuthentication()</c> and before the endpoints; a response that has already started is left alone.
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

using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Pitchly middleware to the request pipeline.</summary>
public static class PitchlyApplicationBuilderExtensions
{
    /// <summary>
    /// Answers every <see cref="PitchlyException"/> escaping a request with a status that says what went wrong, never 500.
    /// <list type="bullet">
    /// <item><description><see cref="PitchlySignInRequiredException"/> (the user's Pitchly tokens are gone or were refused): a
    /// page navigation (GET or HEAD accepting HTML, <c>Sec-Fetch-Mode: navigate</c> where the browser sends it) gets a
    /// sign-in challenge, that is a redirect to Pitchly that brings the user back to the same page; any other request
    /// (fetch, XHR, <c>Accept: application/json</c>, POST) gets 401 with <c>WWW-Authenticate</c>. Missing or refused tokens
    /// of an install (<see cref="PitchlyTokenKind.Install"/>) never redirect: they answer 503 without <c>Retry-After</c>
    /// (an operator must reconnect the install).</description></item>
    /// <item><description>A retryable failure (<see cref="PitchlyException.IsRetryable"/>: the token store unavailable, the
    /// token endpoint unreachable or unavailable, a refresh or refresh-lock timeout, refreshing paused after rejected
    /// tokens): 503 with <c>Retry-After</c> (from <see cref="PitchlyException.RetryAfter"/>, else 5 seconds).</description></item>
    /// <item><description><see cref="PitchlyOrganizationNotRegisteredException"/> and <see cref="PitchlyNotAuthorizedException"/>:
    /// 403. Any other failure a retry cannot fix (the token endpoint refused the app's credentials, a GraphQL error, a
    /// refused origin): 502.</description></item>
    /// </list>
    /// Page navigations get a short HTML page; every other request a problem details body (RFC 9457) with an
    /// <c>error</c> code (such as <c>store-unavailable</c>), written by <see cref="IProblemDetailsService"/> when one is
    /// registered. Bodies never contain the exception's message. Place it after <c>UseAuthentication()</c> and before the
    /// endpoints; a response that has already started is left alone. <c>AddPitchlyTokenManagement()</c> also registers an
    /// <see cref="Microsoft.AspNetCore.Diagnostics.IExceptionHandler"/> giving the same answers, for exceptions that reach
    /// <c>UseExceptionHandler()</c> without passing through this middleware.
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

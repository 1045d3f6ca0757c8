using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Turns a <see cref="PitchlyException"/> escaping a request into what its caller can act on (see
/// <see cref="PitchlyFailureResponder"/>): a sign-in challenge or a 401 problem when the user must sign in again, 503
/// with <c>Retry-After</c> for a retryable failure, a fitting status for every other one. A response that has already
/// started is left alone.
/// </summary>
internal sealed class PitchlySignInRequiredChallengeMiddleware
{
    private readonly RequestDelegate _next;
    private readonly string? _authenticationScheme;

    public PitchlySignInRequiredChallengeMiddleware(RequestDelegate next, string authenticationScheme)
    {
        _next = next;
        // Empty means the default challenge scheme (middleware arguments cannot be null).
        _authenticationScheme = string.IsNullOrEmpty(authenticationScheme) ? null : authenticationScheme;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (PitchlyException exception) when (!context.Response.HasStarted)
        {
            await PitchlyFailureResponder.RespondAsync(context, exception, _authenticationScheme);
        }
    }
}

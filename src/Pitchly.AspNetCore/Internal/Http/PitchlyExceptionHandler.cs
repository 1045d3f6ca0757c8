using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// The same answers as <c>UsePitchlySignInRequiredChallenge()</c> for apps whose <c>UseExceptionHandler()</c> sees a
/// <see cref="PitchlyException"/> first (one thrown outside that middleware, or an app without it): registered by
/// <c>AddPitchlyTokenManagement()</c>, it challenges the default challenge scheme.
/// </summary>
internal sealed class PitchlyExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not PitchlyException pitchly || httpContext.Response.HasStarted)
        {
            return false;
        }

        await PitchlyFailureResponder.RespondAsync(httpContext, pitchly, authenticationScheme: null);
        return true;
    }
}

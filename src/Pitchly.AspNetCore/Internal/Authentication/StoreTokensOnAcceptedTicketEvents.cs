using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// The app's own <see cref="OAuthEvents"/>, each event passed on unchanged, plus one step after
/// <see cref="RemoteAuthenticationEvents.TicketReceived"/>: when the app left the ticket to be signed in (no
/// <c>HandleResponse</c>, <c>SkipHandler</c> or <c>Fail</c>), the sign-in's tokens are stored. A ticket the app
/// rejects therefore leaves no tokens behind.
/// </summary>
internal sealed class StoreTokensOnAcceptedTicketEvents(OAuthEvents inner, Func<TicketReceivedContext, Task> accepted) : OAuthEvents
{
    public override Task CreatingTicket(OAuthCreatingTicketContext context) => inner.CreatingTicket(context);

    public override Task RedirectToAuthorizationEndpoint(RedirectContext<OAuthOptions> context) => inner.RedirectToAuthorizationEndpoint(context);

    public override Task AccessDenied(AccessDeniedContext context) => inner.AccessDenied(context);

    public override Task RemoteFailure(RemoteFailureContext context) => inner.RemoteFailure(context);

    public override async Task TicketReceived(TicketReceivedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await inner.TicketReceived(context);
        if (context.Result is null)
        {
            await accepted(context);
        }
    }
}

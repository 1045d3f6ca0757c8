using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// The app's cookie events (an instance, or a type resolved per request as <see cref="AuthenticationSchemeOptions.EventsType"/>
/// would be), each passed on unchanged, with the session check in front of <see cref="CookieAuthenticationEvents.ValidatePrincipal"/>:
/// a cookie whose Pitchly session has ended is rejected and deleted, so a stolen, left-behind or signed-out cookie stops
/// working at once rather than when it expires.
/// </summary>
/// <remarks>
/// A cookie without the <see cref="PitchlyClaimTypes.SessionId"/> claim (another sign-in scheme, or issued before
/// sessions were tracked) is not checked. When the token store cannot be reached the cookie is accepted (fail open):
/// failing closed would delete every cookie it sees and sign the whole population out during a store outage, while the
/// calls to Pitchly fail retryably anyway without the store, so an ended session gains nothing from it.
/// </remarks>
internal sealed class ValidateSessionCookieEvents(CookieAuthenticationEvents inner, Type? innerType) : CookieAuthenticationEvents
{
    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await ValidateSessionAsync(context);
        if (context.Principal is not null)
        {
            await Inner(context).ValidatePrincipal(context);
        }
    }

    public override Task CheckSlidingExpiration(CookieSlidingExpirationContext context) => Inner(context).CheckSlidingExpiration(context);

    public override Task SigningIn(CookieSigningInContext context) => Inner(context).SigningIn(context);

    public override Task SignedIn(CookieSignedInContext context) => Inner(context).SignedIn(context);

    public override Task SigningOut(CookieSigningOutContext context) => Inner(context).SigningOut(context);

    public override Task RedirectToLogout(RedirectContext<CookieAuthenticationOptions> context) => Inner(context).RedirectToLogout(context);

    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context) => Inner(context).RedirectToLogin(context);

    public override Task RedirectToReturnUrl(RedirectContext<CookieAuthenticationOptions> context) => Inner(context).RedirectToReturnUrl(context);

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context) => Inner(context).RedirectToAccessDenied(context);

    /// <summary>Rejects the principal of <paramref name="context"/> when its session is no longer live in the token store.</summary>
    internal static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        if (PitchlySessions.IdOf(context.Principal) is not { } sessionId || PitchlyTokenKey.FromPrincipal(context.Principal!) is not { } key)
        {
            return;
        }

        var services = context.HttpContext.RequestServices;
        if (services.GetService<IPitchlyTokenStore>() is not { } store)
        {
            return;
        }

        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(ValidateSessionCookieEvents));
        PitchlyTokenRecord? record;
        try
        {
            record = await store.GetAsync(key, context.HttpContext.RequestAborted);
        }
        catch (PitchlyTokenStoreUnavailableException exception)
        {
            logger?.SessionNotValidated(key, exception);
            return;
        }

        if (!PitchlySessions.IsLive(record, sessionId))
        {
            logger?.SessionRejected(key);
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(context.Scheme.Name);
        }
    }

    private CookieAuthenticationEvents Inner(BaseContext<CookieAuthenticationOptions> context)
        => innerType is null ? inner : (CookieAuthenticationEvents)context.HttpContext.RequestServices.GetRequiredService(innerType);
}

using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Puts the session check (<see cref="ValidateSessionCookieEvents"/>) in front of every cookie scheme's events, after the
/// app configured them. Only principals carrying <see cref="PitchlyClaimTypes.SessionId"/>, which only Pitchly sign-ins
/// issue, are checked, so other cookie schemes are unaffected.
/// </summary>
internal sealed class ValidateSessionCookies : IPostConfigureOptions<CookieAuthenticationOptions>
{
    public void PostConfigure(string? name, CookieAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Events is ValidateSessionCookieEvents)
        {
            return;
        }

        options.Events = new ValidateSessionCookieEvents(options.Events ?? new CookieAuthenticationEvents(), options.EventsType);
        options.EventsType = null;
    }
}

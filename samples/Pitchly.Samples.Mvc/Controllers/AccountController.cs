using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.Mvc.Controllers;

[Route("account")]
public sealed class AccountController : Controller
{
    [HttpGet("signin")]
    public IActionResult Login(string? returnUrl) =>
        Challenge(
            new AuthenticationProperties { RedirectUri = PitchlyReturnUrl.LocalOr(returnUrl, "/me") },
            PitchlyAuthenticationDefaults.AuthenticationScheme);

    [HttpPost("signout")]
    [ValidateAntiForgeryToken]
    public async Task<IActionResult> Logout()
    {
        // Ends this browser's session only: the person's other browsers keep working, and this cookie, replayed, is
        // refused. The tokens go with the person's last session.
        await HttpContext.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/");
    }

    [HttpPost("signout-everywhere")]
    [ValidateAntiForgeryToken]
    public async Task<IActionResult> LogoutEverywhere()
    {
        // A lost or stolen device: every session of the person ends and the tokens are forgotten.
        await HttpContext.SignOutOfPitchlyEverywhereAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/");
    }

    [HttpGet("denied")]
    public IActionResult Denied() => View();

    [HttpGet("error")]
    public IActionResult SignInFailed(string? reason) => View("Error", reason);
}

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
        // The tokens live in the token store, not in the cookie: forget them too, or they would outlive the sign-out.
        await HttpContext.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/");
    }

    [HttpGet("denied")]
    public IActionResult Denied() => View();

    [HttpGet("error")]
    public IActionResult SignInFailed(string? reason) => View("Error", reason);
}

using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.RazorPages.Pages.Account;

public sealed class SignOutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/");

    public async Task<IActionResult> OnPostAsync()
    {
        // The tokens live in the token store, not in the cookie: forget them too, or they would outlive the sign-out.
        await HttpContext.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/");
    }
}

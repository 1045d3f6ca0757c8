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
        // Ends this browser's session: the person's other browsers keep working; the tokens go with the last session.
        await HttpContext.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/");
    }
}

using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.RazorPages.Pages.Account;

public sealed class SignInModel : PageModel
{
    public IActionResult OnGet(string? returnUrl) =>
        Challenge(
            new AuthenticationProperties { RedirectUri = PitchlyReturnUrl.LocalOr(returnUrl, "/me") },
            PitchlyAuthenticationDefaults.AuthenticationScheme);
}

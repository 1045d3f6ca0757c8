using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Pitchly.AspNetCore;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.Mvc.Controllers;

public sealed class HomeController(PitchlyDataReader pitchly) : Controller
{
    [HttpGet("/")]
    public IActionResult Index() => View();

    [Authorize]
    [HttpGet("/me")]
    public async Task<IActionResult> Me(CancellationToken cancellationToken)
    {
        var organization = await pitchly.GetOrganizationAsync(cancellationToken);
        return View(ProfileViewModel.Create(User, organization));
    }

    [Authorize]
    [HttpGet("/data")]
    public async Task<IActionResult> Data(CancellationToken cancellationToken)
    {
        var organizationId = User.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value;
        if (string.IsNullOrEmpty(organizationId))
        {
            return View(new DataViewModel(null, [], [], ["Your sign-in carries no Pitchly organization; sign out and sign in again."]));
        }

        return View(await pitchly.GetDataAsync(organizationId, cancellationToken));
    }

    [HttpGet("/error")]
    public IActionResult Error() => View();
}

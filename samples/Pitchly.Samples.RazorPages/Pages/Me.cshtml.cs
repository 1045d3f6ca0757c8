using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.RazorPages.Pages;

[Authorize]
public sealed class MeModel(PitchlyDataReader pitchly) : PageModel
{
    public ProfileViewModel Profile { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var organization = await pitchly.GetOrganizationAsync(cancellationToken);
        Profile = ProfileViewModel.Create(User, organization);
    }
}

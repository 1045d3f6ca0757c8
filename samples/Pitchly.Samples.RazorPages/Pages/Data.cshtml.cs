using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Pitchly.AspNetCore;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.RazorPages.Pages;

[Authorize]
public sealed class DataModel(PitchlyDataReader pitchly) : PageModel
{
    public DataViewModel Data { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var organizationId = User.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value;
        Data = string.IsNullOrEmpty(organizationId)
            ? new DataViewModel(null, [], [], ["Your sign-in carries no Pitchly organization; sign out and sign in again."])
            : await pitchly.GetDataAsync(organizationId, cancellationToken);
    }
}

using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Pitchly.AspNetCore;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.MinimalApi;

/// <summary>The sample's endpoints: sign-in and sign-out for the page, and the JSON API its script calls.</summary>
public static class SampleApiEndpoints
{
    /// <summary>Maps <c>/account/signin</c>, <c>/account/signout</c>, <c>/api/me</c> and <c>/api/data</c>.</summary>
    /// <param name="endpoints">The app.</param>
    /// <returns>The same app.</returns>
    public static IEndpointRouteBuilder MapSampleApi(this IEndpointRouteBuilder endpoints)
    {
        // Only a local path comes back after sign-in ("/x", never "//host", "/\\host" or "/%09/host"), so the link cannot send users elsewhere.
        endpoints.MapGet("/account/signin", (string? returnUrl) => Results.Challenge(
            new AuthenticationProperties { RedirectUri = PitchlyReturnUrl.LocalOr(returnUrl, "/") },
            [PitchlyAuthenticationDefaults.AuthenticationScheme]));

        // A POST from the page's own script; the cookie is SameSite=Lax, so another site cannot send it along.
        endpoints.MapPost("/account/signout", async (HttpContext http) =>
        {
            await http.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return TypedResults.NoContent();
        });

        var api = endpoints.MapGroup("/api").RequireAuthorization();

        api.MapGet("/me", async (ClaimsPrincipal user, PitchlyDataReader pitchly, CancellationToken cancellationToken) =>
            ProfileViewModel.Create(user, await pitchly.GetOrganizationAsync(cancellationToken)));

        api.MapGet("/data", async (ClaimsPrincipal user, PitchlyDataReader pitchly, CancellationToken cancellationToken) =>
            user.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value is { Length: > 0 } organizationId
                ? await pitchly.GetDataAsync(organizationId, cancellationToken)
                : new DataViewModel(null, [], [], ["Your sign-in carries no Pitchly organization; sign out and sign in again."]));

        return endpoints;
    }
}

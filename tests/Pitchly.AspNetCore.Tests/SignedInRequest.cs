namespace Pitchly.AspNetCore.Tests;

/// <summary>Stands in for the request of a signed-in user, for code that finds its user through the HTTP context.</summary>
internal static class SignedInRequest
{
    /// <summary>
    /// Makes <paramref name="key"/>'s person the signed-in user of the current async flow, as a request would, their
    /// person id in a <paramref name="personIdClaimType"/> claim.
    /// </summary>
    public static void ActAs(IServiceProvider services, PitchlyTokenKey key, string personIdClaimType) =>
        services.GetRequiredService<IHttpContextAccessor>().HttpContext = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(personIdClaimType, key.PersonId!), new Claim(PitchlyClaimTypes.OrganizationId, key.OrganizationId)],
                "Test")),
        };
}

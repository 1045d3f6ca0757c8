using System.Security.Claims;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.Shared;

/// <summary>What the <c>/me</c> page shows: the signed-in person's claims and their organization's name from Pitchly.</summary>
/// <param name="PersonId">The Pitchly person id.</param>
/// <param name="Name">The person's name.</param>
/// <param name="Email">The person's e-mail address.</param>
/// <param name="Picture">The URL of the person's picture (http, https or an inline <c>data:image/</c> URL), if it is one a page may show.</param>
/// <param name="OrganizationId">The person's organization id.</param>
/// <param name="OrganizationName">The organization's name, when Pitchly returned it.</param>
/// <param name="Problems">GraphQL errors and unexpected answers met while reading the organization.</param>
public sealed record ProfileViewModel(
    string? PersonId,
    string? Name,
    string? Email,
    string? Picture,
    string? OrganizationId,
    string? OrganizationName,
    IReadOnlyList<string> Problems)
{
    /// <summary>Builds the profile from the claims the Pitchly sign-in handler issued and what Pitchly says of the organization.</summary>
    /// <param name="user">The signed-in user.</param>
    /// <param name="organization">The answer to <see cref="PitchlyDataReader.GetOrganizationAsync"/>.</param>
    public static ProfileViewModel Create(ClaimsPrincipal user, OrganizationResult organization)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(organization);
        return new ProfileViewModel(
            user.FindFirst(ClaimTypes.NameIdentifier)?.Value,
            user.FindFirst(ClaimTypes.Name)?.Value,
            user.FindFirst(ClaimTypes.Email)?.Value,
            ShowablePicture(user.FindFirst(PitchlyClaimTypes.Picture)?.Value),
            user.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value,
            organization.Name,
            organization.Problems);
    }

    // An image URL from elsewhere goes into an <img> only if it is a web address or an inline image.
    private static string? ShowablePicture(string? picture) =>
        picture is not null
        && (picture.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase)
            || (Uri.TryCreate(picture, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"))
            ? picture
            : null;
}

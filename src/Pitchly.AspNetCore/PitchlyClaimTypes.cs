namespace Pitchly.AspNetCore;

/// <summary>Claim types issued by the Pitchly authentication handler beyond the standard <see cref="System.Security.Claims.ClaimTypes"/>.</summary>
public static class PitchlyClaimTypes
{
    /// <summary>
    /// The Pitchly person id of the signed-in user. Also issued as <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/>,
    /// but this claim is the one the token store key is read from, so applications may change the name identifier freely.
    /// </summary>
    public const string PersonId = "urn:pitchly:person_id";

    /// <summary>The Pitchly organization id of the signed-in person.</summary>
    public const string OrganizationId = "urn:pitchly:organization_id";

    /// <summary>The URL of the person's picture.</summary>
    public const string Picture = "urn:pitchly:picture";

    /// <summary>
    /// The session of the sign-in (<see cref="PitchlySession.Id"/>), added by the Pitchly authentication handler. Cookie
    /// validation rejects a cookie whose session has ended; a principal without it (a cookie issued before sessions
    /// were tracked) is not checked.
    /// </summary>
    public const string SessionId = "urn:pitchly:session_id";
}

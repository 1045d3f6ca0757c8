namespace Pitchly.AspNetCore;

/// <summary>Where the access-token handler puts the access token in each request to Pitchly.</summary>
[Flags]
public enum PitchlyTokenPlacement
{
    /// <summary>The token is not attached.</summary>
    None = 0,

    /// <summary><c>Authorization: Bearer &lt;token&gt;</c> (the current platform).</summary>
    AuthorizationHeader = 1,

    /// <summary>The GraphQL variable <c>accessToken</c> in the JSON body's <c>variables</c> (the legacy API).</summary>
    GraphQLVariable = 2,

    /// <summary>Both the header and the variable, for code that talks to both generations.</summary>
    Both = AuthorizationHeader | GraphQLVariable,
}

namespace Pitchly.AspNetCore.Emulator;

/// <summary>Where a GraphQL request carried its credential.</summary>
public enum PitchlyEmulatorTokenPlacement
{
    /// <summary>The request carried no credential.</summary>
    None,

    /// <summary>The <c>Authorization: Bearer</c> header (current platform).</summary>
    AuthorizationHeader,

    /// <summary>The GraphQL variable <c>accessToken</c> or <c>secretKey</c> (legacy platform).</summary>
    Variable,

    /// <summary>An <c>accessToken</c> or <c>secretKey</c> argument written as a literal in the query text (legacy platform).</summary>
    Argument,
}

namespace Pitchly.AspNetCore;

/// <summary>What a <see cref="PitchlyTokenKey"/> identifies.</summary>
public enum PitchlyTokenKind
{
    /// <summary>A signed-in Pitchly person in their organization (tokens from "Sign in with Pitchly").</summary>
    User = 0,

    /// <summary>An install of the app: an organization, optionally narrowed to one database (app-level tokens).</summary>
    Install = 1,
}

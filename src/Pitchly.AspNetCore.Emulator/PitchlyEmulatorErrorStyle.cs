namespace Pitchly.AspNetCore.Emulator;

/// <summary>How the emulator's GraphQL endpoint reports authentication and permission errors.</summary>
public enum PitchlyEmulatorErrorStyle
{
    /// <summary>
    /// The current platform: HTTP 200 with <c>data: null</c> and <c>errors[i].extensions.code</c> set to
    /// <c>UNAUTHENTICATED</c> (bad token) or <c>FORBIDDEN</c> (missing permission).
    /// </summary>
    Platform,

    /// <summary>
    /// The legacy (v2) platform: HTTP 200 with the code in <c>errors[i].data.error</c>, <c>token-invalid</c> for a bad
    /// token and <c>not-authorized</c> for a missing permission.
    /// </summary>
    Legacy,
}

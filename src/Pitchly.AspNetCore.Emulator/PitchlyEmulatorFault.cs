namespace Pitchly.AspNetCore.Emulator;

/// <summary>A fault the emulator's token endpoint injects, at the rate <see cref="PitchlyEmulatorOptions.TokenEndpointFaultRate"/>.</summary>
public enum PitchlyEmulatorFault
{
    /// <summary>No fault.</summary>
    None,

    /// <summary>HTTP 500 with <c>{"error":"server_error"}</c>, before the grant is applied: nothing is spent.</summary>
    ServerError,

    /// <summary>Waits <see cref="PitchlyEmulatorOptions.TokenEndpointFaultDelay"/>, then answers normally.</summary>
    Delay,

    /// <summary>
    /// Applies the grant (a refresh token is spent and rotated) and then aborts the connection, so the client sees no
    /// response: the case a client must never blindly retry.
    /// </summary>
    DropAfterGrant,

    /// <summary>HTTP 502 with an HTML body, as a proxy in front of the server would answer; the grant is not applied.</summary>
    Html,

    /// <summary>
    /// Applies the grant (a refresh token is spent and rotated, counted at once), then holds the answer for
    /// <see cref="PitchlyEmulatorOptions.TokenEndpointFaultDelay"/> before sending it: the window in which a client has
    /// been given new tokens by Pitchly but has not read them yet. A client that gives up meanwhile has spent the token.
    /// </summary>
    DelayAfterGrant,
}

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>What one <c>GET /work</c> call through an instance came to.</summary>
/// <param name="Status">The HTTP status, or 0 when no answer came (connection refused or reset, timeout).</param>
/// <param name="Latency">The time from sending to the end of the answer.</param>
/// <param name="WaitedOnRefresh">Whether the call waited on a refresh of the user's tokens (see <see cref="StormHeaders.RefreshWaited"/>).</param>
/// <param name="TokenFingerprint">The fingerprint of the access token used, on success.</param>
/// <param name="Outcome">Why the call failed (the instance's <see cref="StormHeaders.Outcome"/> or the client-side error), on failure.</param>
public sealed record WorkOutcome(int Status, TimeSpan Latency, bool WaitedOnRefresh, string? TokenFingerprint, string? Outcome)
{
    /// <summary>Gets how long the instance's token manager held the call for refreshes (<see cref="StormHeaders.RefreshWaitMilliseconds"/>), if it said.</summary>
    public TimeSpan? RefreshWait { get; init; }

    /// <summary>Gets whether the call succeeded.</summary>
    public bool Succeeded => Status == 200;

    /// <summary>Gets whether the instance said the user must sign in again.</summary>
    public bool SignInRequired => Outcome == "sign-in-required";

    /// <summary>Gets a short description for failure tallies, e.g. <c>503 store-unavailable</c>.</summary>
    public string Describe() => Succeeded ? "200" : $"{Status} {Outcome}";
}

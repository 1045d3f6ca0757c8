namespace Pitchly.Samples.Shared;

/// <summary>Which Pitchly the sample talks to: the embedded emulator, or the endpoints configured under <c>Pitchly</c>.</summary>
/// <param name="EmulatorAddress">The embedded emulator's address, or <see langword="null"/> when Pitchly is configured.</param>
public sealed record PitchlyBackend(Uri? EmulatorAddress)
{
    /// <summary>Gets whether the sample runs on the embedded Pitchly emulator.</summary>
    public bool IsEmulator => EmulatorAddress is not null;
}

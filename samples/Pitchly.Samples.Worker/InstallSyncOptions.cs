using System.ComponentModel.DataAnnotations;

namespace Pitchly.Samples.Worker;

/// <summary>What the worker syncs and how often; bound from the <c>InstallSync</c> configuration section.</summary>
public sealed class InstallSyncOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "InstallSync";

    /// <summary>
    /// Gets or sets the organization that installed the app. On the embedded emulator it defaults to the seeded
    /// Acme Analytics organization.
    /// </summary>
    public string OrganizationId { get; set; } = string.Empty;

    /// <summary>Gets or sets the pause between two syncs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "Set InstallSync:Interval between 100 ms and one day, for example 00:00:30.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);
}

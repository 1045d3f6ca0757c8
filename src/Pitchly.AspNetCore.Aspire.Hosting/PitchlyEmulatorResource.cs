using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

/// <summary>
/// The stand-alone Pitchly emulator (<c>pitchly-emulator</c>) as an Aspire executable resource, serving Pitchly's OAuth
/// and GraphQL endpoints on loopback. Added with
/// <see cref="PitchlyEmulatorResourceBuilderExtensions.AddPitchlyEmulator(IDistributedApplicationBuilder, string, int?)"/>.
/// </summary>
public sealed class PitchlyEmulatorResource : ExecutableResource
{
    /// <summary>The name of the emulator's HTTP endpoint.</summary>
    public const string HttpEndpointName = "http";

    /// <summary>Creates the resource.</summary>
    /// <param name="name">The resource name.</param>
    /// <param name="command">The program that runs the emulator.</param>
    /// <param name="workingDirectory">The working directory of that program.</param>
    public PitchlyEmulatorResource(string name, string command, string workingDirectory)
        : base(name, command, workingDirectory)
    {
    }

    /// <summary>The emulator's HTTP endpoint (loopback).</summary>
    public EndpointReference HttpEndpoint => field ??= new EndpointReference(this, HttpEndpointName);
}

using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Pitchly.AspNetCore.Emulator;

namespace Aspire.Hosting;

/// <summary>
/// Adds the Pitchly emulator to an Aspire app host and hands its client and endpoints to the projects that use it.
/// </summary>
public static class PitchlyEmulatorResourceBuilderExtensions
{
    /// <summary>The command of the emulator .NET tool (<c>dotnet tool install -g Pitchly.AspNetCore.Emulator.Host</c>).</summary>
    public const string ToolCommand = "pitchly-emulator";

    private const string Section = "Pitchly__Emulator__";

    /// <summary>
    /// Adds the Pitchly emulator, run by the <c>pitchly-emulator</c> .NET tool found on the <c>PATH</c>, on a loopback
    /// HTTP endpoint named <c>http</c>, with a health check on its readiness.
    /// </summary>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The resource name, e.g. <c>pitchly</c>.</param>
    /// <param name="port">The port the app host gives callers; a free one when <see langword="null"/>.</param>
    /// <returns>The resource builder, for the knobs (<c>WithAccessTokenLifetime</c>, …) and <c>WithReference</c>.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> AddPitchlyEmulator(
        this IDistributedApplicationBuilder builder, [ResourceName] string name, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var resource = new PitchlyEmulatorResource(name, ToolCommand, builder.AppHostDirectory);
        return Configure(builder.AddResource(resource), port);
    }

    /// <summary>
    /// Adds the Pitchly emulator run from the source of its host project (<c>dotnet run --project</c>), e.g. in a
    /// clone of the Pitchly.AspNetCore repository; otherwise as
    /// <see cref="AddPitchlyEmulator(IDistributedApplicationBuilder, string, int?)"/>.
    /// </summary>
    /// <param name="builder">The app host builder.</param>
    /// <param name="name">The resource name, e.g. <c>pitchly</c>.</param>
    /// <param name="projectPath">The path of <c>Pitchly.AspNetCore.Emulator.Host.csproj</c>, relative to the app host's directory or absolute.</param>
    /// <param name="port">The port the app host gives callers; a free one when <see langword="null"/>.</param>
    /// <returns>The resource builder.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> AddPitchlyEmulatorProject(
        this IDistributedApplicationBuilder builder, [ResourceName] string name, string projectPath, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(projectPath);
        var fullPath = Path.GetFullPath(projectPath, builder.AppHostDirectory);
        var resource = new PitchlyEmulatorResource(name, "dotnet", Path.GetDirectoryName(fullPath)!);
        return Configure(builder.AddResource(resource), port)
            .WithArgs("run", "--project", fullPath, "--no-launch-profile", "--");
    }

    private static IResourceBuilder<PitchlyEmulatorResource> Configure(IResourceBuilder<PitchlyEmulatorResource> emulator, int? port)
    {
        var endpoint = emulator.Resource.HttpEndpoint;
        return emulator
            .WithHttpEndpoint(port: port, name: PitchlyEmulatorResource.HttpEndpointName)
            // Loopback only: the emulator refuses any other listen address unless told otherwise, and this never does.
            .WithEnvironment("ASPNETCORE_URLS", ReferenceExpression.Create($"http://127.0.0.1:{endpoint.Property(EndpointProperty.TargetPort)}"))
            .WithHttpHealthCheck("/", endpointName: PitchlyEmulatorResource.HttpEndpointName)
            .WithIconName("Key")
            .ExcludeFromManifest();
    }

    /// <summary>Sets <c>Pitchly:Emulator:AutoApprove</c>: <c>/oauth/authorize</c> approves at once, with no consent page.</summary>
    /// <param name="emulator">The emulator.</param>
    /// <param name="autoApprove">Whether to approve at once.</param>
    /// <returns>The emulator.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> WithAutoApprove(this IResourceBuilder<PitchlyEmulatorResource> emulator, bool autoApprove = true)
        => Knob(emulator, nameof(PitchlyEmulatorOptions.AutoApprove), autoApprove ? "true" : "false");

    /// <summary>Sets <c>Pitchly:Emulator:AccessTokenLifetime</c>, the lifetime of the access tokens it issues.</summary>
    /// <param name="emulator">The emulator.</param>
    /// <param name="lifetime">More than zero.</param>
    /// <returns>The emulator.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> WithAccessTokenLifetime(this IResourceBuilder<PitchlyEmulatorResource> emulator, TimeSpan lifetime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);
        return Knob(emulator, nameof(PitchlyEmulatorOptions.AccessTokenLifetime), lifetime.ToString("c", CultureInfo.InvariantCulture));
    }

    /// <summary>Sets <c>Pitchly:Emulator:EarlyInvalidationRate</c>: the chance that a GraphQL request's live access token is invalidated just before it is checked.</summary>
    /// <param name="emulator">The emulator.</param>
    /// <param name="rate">0 to 1.</param>
    /// <returns>The emulator.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> WithEarlyInvalidation(this IResourceBuilder<PitchlyEmulatorResource> emulator, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1);
        return Knob(emulator, nameof(PitchlyEmulatorOptions.EarlyInvalidationRate), rate.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>Sets <c>Pitchly:Emulator:Latency</c>, a delay added to every token and GraphQL request.</summary>
    /// <param name="emulator">The emulator.</param>
    /// <param name="latency">Not negative.</param>
    /// <returns>The emulator.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> WithLatency(this IResourceBuilder<PitchlyEmulatorResource> emulator, TimeSpan latency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        return Knob(emulator, nameof(PitchlyEmulatorOptions.Latency), latency.ToString("c", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Sets <c>Pitchly:Emulator:TokenEndpointFault</c> and <c>TokenEndpointFaultRate</c>: a share of token requests
    /// meets the fault.
    /// </summary>
    /// <param name="emulator">The emulator.</param>
    /// <param name="fault">The fault.</param>
    /// <param name="rate">0 to 1.</param>
    /// <returns>The emulator.</returns>
    public static IResourceBuilder<PitchlyEmulatorResource> WithTokenEndpointFaults(this IResourceBuilder<PitchlyEmulatorResource> emulator, PitchlyEmulatorFault fault, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1);
        Knob(emulator, nameof(PitchlyEmulatorOptions.TokenEndpointFault), fault.ToString());
        return Knob(emulator, nameof(PitchlyEmulatorOptions.TokenEndpointFaultRate), rate.ToString("R", CultureInfo.InvariantCulture));
    }

    private static IResourceBuilder<PitchlyEmulatorResource> Knob(IResourceBuilder<PitchlyEmulatorResource> emulator, string knob, string value)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        return emulator.WithEnvironment(Section + knob, value);
    }

    /// <summary>
    /// Gives <paramref name="builder"/> the emulator's client (<c>Pitchly__ClientId</c>, <c>Pitchly__ClientSecret</c>) and
    /// endpoints (<c>Pitchly__AuthorizationEndpoint</c>, <c>Pitchly__TokenEndpoint</c>, <c>Pitchly__GraphQLEndpoint</c>,
    /// <c>Pitchly__GraphQL__Endpoint</c>, <c>Pitchly__Subscriptions__Endpoint</c>), so no address is written twice.
    /// Add <c>WaitFor(emulator)</c> to start the project once the emulator is ready.
    /// </summary>
    /// <typeparam name="TDestination">The resource that signs in to and calls Pitchly.</typeparam>
    /// <param name="builder">The resource that receives the settings.</param>
    /// <param name="emulator">The emulator.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IResourceBuilder<TDestination> WithReference<TDestination>(this IResourceBuilder<TDestination> builder, IResourceBuilder<PitchlyEmulatorResource> emulator)
        where TDestination : IResourceWithEnvironment
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(emulator);
        // 127.0.0.1 rather than localhost: the emulator and the orchestrator's proxy listen on IPv4 loopback, and a
        // browser or client that resolves localhost to ::1 first would try an address nothing listens on.
        var endpoint = emulator.Resource.HttpEndpoint;
        var hostAndPort = ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.IPV4Host)}:{endpoint.Property(EndpointProperty.Port)}");
        var url = ReferenceExpression.Create($"http://{hostAndPort}");
        return builder
            .WithReferenceRelationship(emulator.Resource)
            .WithEnvironment("Pitchly__ClientId", PitchlyEmulatorDefaults.ClientId)
            .WithEnvironment("Pitchly__ClientSecret", PitchlyEmulatorDefaults.ClientSecret)
            .WithEnvironment("Pitchly__AuthorizationEndpoint", ReferenceExpression.Create($"{url}{PitchlyEmulatorDefaults.AuthorizationPath}"))
            .WithEnvironment("Pitchly__TokenEndpoint", ReferenceExpression.Create($"{url}{PitchlyEmulatorDefaults.TokenPath}"))
            .WithEnvironment("Pitchly__GraphQLEndpoint", ReferenceExpression.Create($"{url}{PitchlyEmulatorDefaults.GraphQLPath}"))
            .WithEnvironment("Pitchly__GraphQL__Endpoint", ReferenceExpression.Create($"{url}{PitchlyEmulatorDefaults.GraphQLPath}"))
            .WithEnvironment("Pitchly__Subscriptions__Endpoint", ReferenceExpression.Create($"ws://{hostAndPort}{PitchlyEmulatorDefaults.SubscriptionsPath}"));
    }
}

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Logging.Abstractions;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.Aspire.Tests;

/// <summary>The app model AddPitchlyEmulator and WithReference build, read without starting anything.</summary>
public sealed class EmulatorResourceTests
{
    private static string MvcSampleProject => Path.GetFullPath(Path.Combine(
        AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "Pitchly.Samples.Mvc", "Pitchly.Samples.Mvc.csproj"));

    /// <summary>What the orchestrator would launch the resource with, read without launching it.</summary>
    private static async Task<IExecutionConfigurationResult> ExecutionConfigurationAsync(IResource resource)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await ExecutionConfigurationBuilder.Create(resource)
            .WithEnvironmentVariablesConfig()
            .WithArgumentsConfig()
            .BuildAsync(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), NullLogger.Instance, timeout.Token);
        Assert.Null(result.Exception);
        return result;
    }

    /// <summary>Gives every endpoint in the model the address the orchestrator would, so references resolve.</summary>
    private static void AllocateEndpoints(IDistributedApplicationBuilder builder, int firstPort)
    {
        var port = firstPort;
        foreach (var resource in builder.Resources)
        {
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
            {
                endpoint.TargetPort ??= port + 1000;
                endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", port++);
            }
        }
    }

    [Fact]
    public async Task WithReference_gives_the_project_the_client_and_every_endpoint_of_the_emulator()
    {
        var builder = DistributedApplication.CreateBuilder();
        var pitchly = builder.AddPitchlyEmulator("pitchly", port: 5199);
        var web = builder.AddProject("web", MvcSampleProject, options => options.ExcludeLaunchProfile = true)
            .WithReference(pitchly);
        AllocateEndpoints(builder, 5199);

        var environment = (await ExecutionConfigurationAsync(web.Resource)).EnvironmentVariables;

        var pitchlyVariables = environment.Where(pair => pair.Key.StartsWith("Pitchly__", StringComparison.Ordinal))
            .ToDictionary(pair => pair.Key, pair => pair.Value);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["Pitchly__ClientId"] = PitchlyEmulatorDefaults.ClientId,
                ["Pitchly__ClientSecret"] = PitchlyEmulatorDefaults.ClientSecret,
                ["Pitchly__AuthorizationEndpoint"] = "http://127.0.0.1:5199/oauth/authorize",
                ["Pitchly__TokenEndpoint"] = "http://127.0.0.1:5199/api/oauth/token",
                ["Pitchly__GraphQLEndpoint"] = "http://127.0.0.1:5199/graphql",
                ["Pitchly__GraphQL__Endpoint"] = "http://127.0.0.1:5199/graphql",
                ["Pitchly__Subscriptions__Endpoint"] = "ws://127.0.0.1:5199/subscriptions",
            },
            pitchlyVariables);
        Assert.Contains(web.Resource.Annotations.OfType<ResourceRelationshipAnnotation>(), relation => relation.Resource == pitchly.Resource);
    }

    [Fact]
    public async Task The_emulator_listens_on_loopback_only_with_its_knobs_and_a_health_check()
    {
        var builder = DistributedApplication.CreateBuilder();
        var pitchly = builder.AddPitchlyEmulator("pitchly")
            .WithAutoApprove()
            .WithAccessTokenLifetime(TimeSpan.FromSeconds(5))
            .WithEarlyInvalidation(0.25)
            .WithLatency(TimeSpan.FromMilliseconds(20))
            .WithTokenEndpointFaults(PitchlyEmulatorFault.DropAfterGrant, 0.1);
        AllocateEndpoints(builder, 6100);
        var endpoint = Assert.Single(pitchly.Resource.Annotations.OfType<EndpointAnnotation>());
        endpoint.TargetPort = 6200;

        var environment = (await ExecutionConfigurationAsync(pitchly.Resource)).EnvironmentVariables.ToDictionary();

        Assert.Equal(PitchlyEmulatorResource.HttpEndpointName, endpoint.Name);
        Assert.Equal("pitchly-emulator", pitchly.Resource.Command);
        Assert.Equal("http://127.0.0.1:6200", environment["ASPNETCORE_URLS"]);
        Assert.Equal("true", environment["Pitchly__Emulator__AutoApprove"]);
        Assert.Equal("00:00:05", environment["Pitchly__Emulator__AccessTokenLifetime"]);
        Assert.Equal("0.25", environment["Pitchly__Emulator__EarlyInvalidationRate"]);
        Assert.Equal("00:00:00.0200000", environment["Pitchly__Emulator__Latency"]);
        Assert.Equal("DropAfterGrant", environment["Pitchly__Emulator__TokenEndpointFault"]);
        Assert.Equal("0.1", environment["Pitchly__Emulator__TokenEndpointFaultRate"]);
        Assert.DoesNotContain(environment.Keys, key => key.Contains("AllowRemote", StringComparison.Ordinal));
        Assert.Single(pitchly.Resource.Annotations.OfType<HealthCheckAnnotation>());
    }

    [Fact]
    public async Task From_its_project_the_emulator_is_run_with_dotnet_run()
    {
        var builder = DistributedApplication.CreateBuilder();
        var pitchly = builder.AddPitchlyEmulatorProject("pitchly", "/src/Pitchly.AspNetCore.Emulator.Host/Pitchly.AspNetCore.Emulator.Host.csproj");
        AllocateEndpoints(builder, 6300);

        var arguments = (await ExecutionConfigurationAsync(pitchly.Resource)).Arguments.Select(argument => argument.Value);

        Assert.Equal("dotnet", pitchly.Resource.Command);
        Assert.Equal(["run", "--project", "/src/Pitchly.AspNetCore.Emulator.Host/Pitchly.AspNetCore.Emulator.Host.csproj", "--no-launch-profile", "--"], arguments);
    }

    [Fact]
    public void The_knobs_refuse_values_the_emulator_would_refuse_at_start()
    {
        var pitchly = DistributedApplication.CreateBuilder().AddPitchlyEmulator("pitchly");

        Assert.Throws<ArgumentOutOfRangeException>(() => pitchly.WithAccessTokenLifetime(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => pitchly.WithEarlyInvalidation(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => pitchly.WithLatency(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => pitchly.WithTokenEndpointFaults(PitchlyEmulatorFault.ServerError, -0.1));
    }
}

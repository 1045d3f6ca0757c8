// The web farm on .NET Aspire, with one command:
//   dotnet run --project samples/Pitchly.Samples.AppHost
// Redis (redis-server on a free loopback port), the Pitchly emulator, three MVC sample instances sharing that Redis
// (tokens, refresh lock, Data Protection keys) and a round-robin proxy in front of them; the dashboard shows each with
// its logs. Open the proxy's address and sign in: every page says which instance served it.
var builder = DistributedApplication.CreateBuilder(args);

var redis = builder.AddExecutable("redis", "redis-server", ".")
    .WithEndpoint(name: "tcp", scheme: "tcp")
    .WithIconName("Database");
var redisEndpoint = redis.GetEndpoint("tcp");
redis.WithArgs(context =>
{
    context.Args.Add("--port");
    context.Args.Add(redisEndpoint.Property(EndpointProperty.TargetPort));
    context.Args.Add("--bind");
    context.Args.Add("127.0.0.1");
    context.Args.Add("--save");
    context.Args.Add("");
    context.Args.Add("--appendonly");
    context.Args.Add("no");
});

// The emulator from its source in this repository; in an app of your own, AddPitchlyEmulator("pitchly") runs the
// pitchly-emulator .NET tool. Knobs: WithAccessTokenLifetime, WithEarlyInvalidation, WithLatency, WithTokenEndpointFaults.
var pitchly = builder.AddPitchlyEmulatorProject("pitchly", "../../src/Pitchly.AspNetCore.Emulator.Host/Pitchly.AspNetCore.Emulator.Host.csproj");
if (string.Equals(builder.Configuration["Farm:AutoApprove"], "true", StringComparison.OrdinalIgnoreCase))
{
    pitchly.WithAutoApprove();
}

if (builder.Configuration["Farm:AccessTokenLifetime"] is { Length: > 0 } lifetime)
{
    pitchly.WithAccessTokenLifetime(TimeSpan.Parse(lifetime, System.Globalization.CultureInfo.InvariantCulture));
}

var instances = builder.Configuration["Farm:Instances"] is { Length: > 0 } configured ? int.Parse(configured, System.Globalization.CultureInfo.InvariantCulture) : 3;
if (instances is < 1 or > 9)
{
    throw new InvalidOperationException("Set Farm:Instances between 1 and 9.");
}

var proxy = builder.AddProject<Projects.Pitchly_Samples_FarmProxy>("proxy", options => options.ExcludeLaunchProfile = true)
    .WithHttpEndpoint(name: "http")
    .WithHttpHealthCheck("/", endpointName: "http");
for (var number = 1; number <= instances; number++)
{
    var name = "mvc-" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
    var mvc = builder.AddProject<Projects.Pitchly_Samples_Mvc>(name, options => options.ExcludeLaunchProfile = true)
        .WithHttpEndpoint(name: "http")
        .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Development")
        .WithEnvironment("Samples__InstanceName", name)
        .WithEnvironment("Pitchly__Redis__Configuration", ReferenceExpression.Create($"127.0.0.1:{redisEndpoint.Property(EndpointProperty.Port)}"))
        .WithHttpHealthCheck("/", endpointName: "http")
        .WithReference(pitchly)
        .WaitFor(pitchly)
        .WaitFor(redis);
    proxy.WithReference(mvc).WaitFor(mvc);
}

builder.Build().Run();

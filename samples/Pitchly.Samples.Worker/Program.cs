using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.Shared;
using Pitchly.Samples.Worker;

var builder = Host.CreateApplicationBuilder(args);

// With no Pitchly:ClientId configured, run on the embedded emulator (real HTTP on loopback), where install tokens
// come from the client_credentials grant of the emulator's registered app.
var emulator = await builder.AddPitchlyEmulatorUnlessConfiguredAsync();

var organizationId = builder.Configuration[$"{InstallSyncOptions.Section}:{nameof(InstallSyncOptions.OrganizationId)}"] is { Length: > 0 } configured
    ? configured
    : emulator is not null
        ? PitchlyEmulatorDefaults.AcmeOrganizationId
        : throw new InvalidOperationException("Set InstallSync:OrganizationId to the id of the organization that installed the app.");

builder.Services.AddOptions<InstallSyncOptions>()
    .BindConfiguration(InstallSyncOptions.Section)
    .Configure(options => options.OrganizationId = organizationId)
    .ValidateDataAnnotations()
    .ValidateOnStart();

// No user here: the calls carry the install's app-level token, renewed by the token manager as it expires.
// Pitchly:AccessToken:Placement=GraphQLVariable switches it to the legacy API by configuration alone.
builder.Services.AddPitchlyTokenManagement();
builder.Services.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(organizationId));
builder.Services.AddTransient<PitchlyDataReader>();
builder.Services.AddHostedService<InstallSyncWorker>();

// Optional: the package's metrics and spans through OpenTelemetry, printed to the console (Telemetry:Console=true).
// Swap AddConsoleExporter for your exporter (OTLP, Prometheus, Azure Monitor, ...); the names are all that is needed.
if (builder.Configuration.GetValue<bool>("Telemetry:Console"))
{
    builder.Services.AddOpenTelemetry()
        .WithMetrics(metrics => metrics.AddMeter(PitchlyTelemetry.MeterName).AddConsoleExporter())
        .WithTracing(tracing => tracing.AddSource(PitchlyTelemetry.ActivitySourceName).AddConsoleExporter());
}

await builder.Build().RunAsync();

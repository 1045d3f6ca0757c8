// The Pitchly emulator on its own, for several app instances to share:
//   dotnet run --project src/Pitchly.AspNetCore.Emulator.Host -- --urls http://127.0.0.1:5199
// Knobs come from the Pitchly:Emulator section, e.g. Pitchly__Emulator__AccessTokenLifetime=00:00:05,
// and change at run time through POST /_emulator/settings.
// It serves loopback only: an address other machines can reach (--urls http://0.0.0.0:5199) stops it at start-up
// unless --allow-remote (or Pitchly:Emulator:AllowRemote=true) allows it explicitly.
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Pitchly.AspNetCore.Emulator;

const string AllowRemoteFlag = "--allow-remote";

// A bare flag: taken out before the configuration's command-line parser would read the next argument as its value.
var allowRemote = args.Contains(AllowRemoteFlag, StringComparer.Ordinal);
var builder = WebApplication.CreateBuilder(args.Where(arg => !string.Equals(arg, AllowRemoteFlag, StringComparison.Ordinal)).ToArray());
if (allowRemote)
{
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        [PitchlyEmulatorDefaults.ConfigurationSection + ":" + nameof(PitchlyEmulatorOptions.AllowRemote)] = "true",
    });
}

builder.Services.AddPitchlyEmulator(builder.Configuration);

var app = builder.Build();
app.MapGet("/", () => Results.Text(
    "Pitchly emulator. Endpoints: GET /oauth/authorize, POST /api/oauth/token, POST /graphql, /subscriptions (WebSocket, graphql-transport-ws), GET /_emulator/stats, POST /_emulator/settings."));
app.MapPitchlyEmulator();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses)
    {
        Console.WriteLine($"Pitchly emulator listening on {address}");
        Console.WriteLine($"  Pitchly__ClientId={PitchlyEmulatorDefaults.ClientId}");
        Console.WriteLine($"  Pitchly__ClientSecret: see PitchlyEmulatorDefaults.ClientSecret");
        Console.WriteLine($"  Pitchly__AuthorizationEndpoint={address.TrimEnd('/')}{PitchlyEmulatorDefaults.AuthorizationPath}");
        Console.WriteLine($"  Pitchly__TokenEndpoint={address.TrimEnd('/')}{PitchlyEmulatorDefaults.TokenPath}");
        Console.WriteLine($"  Pitchly__GraphQLEndpoint={address.TrimEnd('/')}{PitchlyEmulatorDefaults.GraphQLPath}");
        Console.WriteLine($"  subscriptions (graphql-transport-ws): {address.TrimEnd('/').Replace("http", "ws", StringComparison.Ordinal)}{PitchlyEmulatorDefaults.SubscriptionsPath}");
    }
});

try
{
    await app.StartAsync();
}
catch (Exception exception) when (exception is InvalidOperationException or IOException or Microsoft.Extensions.Options.OptionsValidationException)
{
    // A refused address, a port in use, invalid settings: one clear line, no stack trace, a failing exit code.
    await Console.Error.WriteLineAsync("pitchly-emulator: " + exception.Message);
    await app.DisposeAsync();
    return 1;
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;

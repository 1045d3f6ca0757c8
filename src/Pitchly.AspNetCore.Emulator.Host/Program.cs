// The Pitchly emulator on its own, for several app instances to share:
//   dotnet run --project src/Pitchly.AspNetCore.Emulator.Host -- --urls http://127.0.0.1:5199
// Knobs come from the Pitchly:Emulator section, e.g. Pitchly__Emulator__AccessTokenLifetime=00:00:05,
// and change at run time through POST /_emulator/settings.
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Pitchly.AspNetCore.Emulator;

var builder = WebApplication.CreateBuilder(args);
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

app.Run();

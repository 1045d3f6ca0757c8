// A web farm on one machine, with one command:
//   dotnet run --project samples/Pitchly.Samples.WebFarm
// starts a Redis (its own redis-server on a free loopback port, unless Pitchly:Redis:Configuration names one), the
// Pitchly emulator, three MVC sample instances as child processes sharing that Redis (tokens, refresh lock, Data
// Protection keys), and a YARP proxy that balances them round robin without session affinity. Open the proxy's address
// and sign in: every page says which instance served it. Ctrl+C stops everything.
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.Mvc.Controllers;
using Pitchly.Samples.WebFarm;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("Yarp", LogLevel.Warning);
var farm = builder.Configuration.GetSection(WebFarmOptions.Section).Get<WebFarmOptions>() ?? new WebFarmOptions();
Validator.ValidateObject(farm, new ValidationContext(farm), validateAllProperties: true);

var owned = new List<IAsyncDisposable>();
try
{
    var redis = builder.Configuration["Pitchly:Redis:Configuration"] is { Length: > 0 } configured
        ? configured
        : await StartRedisAsync(owned);

    // The emulator, in this process; knobs from Pitchly:Emulator (e.g. --Pitchly:Emulator:AccessTokenLifetime=00:00:05).
    var emulator = await PitchlyEmulatorServer.StartAsync(builder.Configuration, configure: null);
    owned.Add(emulator);
    builder.Services.AddSingleton(emulator);

    var instances = await StartInstancesAsync(farm, redis, emulator, builder.Environment.EnvironmentName, owned);

    // Round robin, no session affinity: consecutive requests of one browser land on different instances. The original
    // Host header goes through, so each instance builds the sign-in callback URL on the proxy's address.
    builder.Services.AddReverseProxy().LoadFromMemory(
        [
            new RouteConfig
            {
                RouteId = "mvc",
                ClusterId = "mvc",
                Match = new RouteMatch { Path = "{**catch-all}" },
                Transforms = [new Dictionary<string, string> { ["RequestHeaderOriginalHost"] = "true" }],
            },
        ],
        [
            new ClusterConfig
            {
                ClusterId = "mvc",
                LoadBalancingPolicy = LoadBalancingPolicies.RoundRobin,
                Destinations = instances.ToDictionary(instance => instance.Name, instance => new DestinationConfig { Address = instance.Address.ToString() }),
            },
        ]);

    var app = builder.Build();
    app.MapReverseProxy();
    app.Lifetime.ApplicationStarted.Register(() =>
    {
        var proxy = string.Join(", ", app.Urls);
        Console.WriteLine($"Web farm ready at {proxy}");
        Console.WriteLine($"  Redis {redis}; Pitchly emulator {emulator.BaseAddress}");
        foreach (var instance in instances)
        {
            Console.WriteLine($"  {instance.Name} at {instance.Address}");
        }
    });
    await app.RunAsync();
}
finally
{
    for (var i = owned.Count - 1; i >= 0; i--)
    {
        await owned[i].DisposeAsync();
    }
}

static async Task<string> StartRedisAsync(List<IAsyncDisposable> owned)
{
    var port = FreeLoopbackPort();
    var directory = Directory.CreateTempSubdirectory("pitchly-webfarm-redis-").FullName;
    var redis = FarmProcess.Start(
        "redis-server",
        "redis-server",
        ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory]);
    owned.Add(redis);
    for (var attempt = 0; await PingAsync(port) is not true; attempt++)
    {
        if (redis.HasExited || attempt > 200)
        {
            throw new InvalidOperationException(
                $"redis-server did not answer on port {port} (install it with apt-get install -y redis-server, or set Pitchly:Redis:Configuration). Its output:{Environment.NewLine}{redis.Output}");
        }

        await Task.Delay(50);
    }

    return $"127.0.0.1:{port}";
}

static async Task<List<(string Name, Uri Address)>> StartInstancesAsync(
    WebFarmOptions farm,
    string redis,
    PitchlyEmulatorServer emulator,
    string environmentName,
    List<IAsyncDisposable> owned)
{
    // The MVC sample is built next to this program (project reference), with its runtime configuration.
    var assembly = typeof(HomeController).Assembly.Location;
    var contentRoot = SampleDirectory("Pitchly.Samples.Mvc") ?? Path.GetDirectoryName(assembly)!;
    var instances = new List<(string Name, Uri Address, FarmProcess Process)>();
    for (var number = 1; number <= farm.Instances; number++)
    {
        var name = $"mvc-{number}";
        var address = new Uri($"http://127.0.0.1:{FreeLoopbackPort()}/");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = environmentName,
            ["ASPNETCORE_URLS"] = address.ToString().TrimEnd('/'),
            ["Samples__InstanceName"] = name,
            ["Pitchly__Redis__Configuration"] = redis,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in emulator.ClientConfiguration)
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value ?? string.Empty;
        }

        var process = FarmProcess.Start(name, DotnetHost(), [assembly, "--contentRoot", contentRoot], environment);
        owned.Add(process);
        instances.Add((name, address, process));
    }

    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    foreach (var (name, address, process) in instances)
    {
        var deadline = DateTimeOffset.UtcNow + farm.StartTimeout;
        while (!await AnswersAsync(http, address))
        {
            if (process.HasExited || DateTimeOffset.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{name} did not start at {address}. Its output:{Environment.NewLine}{process.Output}");
            }

            await Task.Delay(200);
        }
    }

    return [.. instances.Select(instance => (instance.Name, instance.Address))];
}

static async Task<bool> AnswersAsync(HttpClient http, Uri address)
{
    try
    {
        using var response = await http.GetAsync(address);
        return response.StatusCode == HttpStatusCode.OK;
    }
    catch (HttpRequestException)
    {
        return false;
    }
    catch (TaskCanceledException)
    {
        return false;
    }
}

static async Task<bool> PingAsync(int port)
{
    try
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }
    catch (SocketException)
    {
        return false;
    }
    catch (IOException)
    {
        return false;
    }
}

static int FreeLoopbackPort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

// The dotnet host running this program, so the instances run on the same runtime.
static string DotnetHost() =>
    Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";

// The sample's source folder (for its appsettings.json), found above this program's folder; null when run elsewhere.
static string? SampleDirectory(string project)
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        var candidate = Path.Combine(directory.FullName, "samples", project);
        if (File.Exists(Path.Combine(candidate, project + ".csproj")))
        {
            return candidate;
        }
    }

    return null;
}

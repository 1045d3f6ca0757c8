using System.Reflection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// A sample web app run by its own Program on real Kestrel at 127.0.0.1 (dynamic port), with its embedded Pitchly
/// emulator and its own appsettings.json; <c>settings</c> add configuration such as <c>Pitchly:Emulator:AccessTokenLifetime</c>.
/// </summary>
public sealed class SampleApp : IAsyncDisposable
{
    private readonly EntryPointHost _host;

    private SampleApp(EntryPointHost host, Uri baseAddress)
    {
        _host = host;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<SampleApp> StartAsync(Assembly sample, IReadOnlyDictionary<string, string>? settings = null)
    {
        var name = sample.GetName().Name!;
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--environment=Development",
            // The app's parts (controllers, pages, compiled views) are found through its name, which otherwise is the test assembly's.
            $"--applicationName={name}",
            $"--contentRoot={ProjectDirectory(name)}",
            "--Logging:LogLevel:Default=None",
            .. (settings ?? new Dictionary<string, string>()).Select(setting => $"--{setting.Key}={setting.Value}"),
        ];
        var host = await EntryPointHost.StartAsync(sample, args, TimeSpan.FromSeconds(30));
        var addresses = host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        return new SampleApp(host, new Uri(addresses.Addresses.Single()));
    }

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    // The sample's own folder, so it reads its own appsettings.json as `dotnet run` would.
    internal static string ProjectDirectory(string projectName)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "samples", projectName);
            if (File.Exists(Path.Combine(candidate, projectName + ".csproj")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"samples/{projectName} was not found above {AppContext.BaseDirectory}.");
    }
}

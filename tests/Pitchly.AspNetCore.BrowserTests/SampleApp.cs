using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// A sample web app, run by its own Program on real Kestrel at 127.0.0.1 (dynamic port), with its embedded Pitchly
/// emulator; <paramref name="settings"/> are configuration entries such as <c>Pitchly:Emulator:AccessTokenLifetime</c>.
/// </summary>
/// <typeparam name="TEntryPoint">Any type of the sample's assembly.</typeparam>
public sealed class SampleApp<TEntryPoint>(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    public SampleApp()
        : this(new Dictionary<string, string>())
    {
    }

    public Uri BaseAddress { get; private set; } = null!;

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    public SampleApp<TEntryPoint> Start()
    {
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        BaseAddress = new Uri(addresses.Addresses.Single());
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders());
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pitchly.AspNetCore.Emulator.Internal;

namespace Pitchly.AspNetCore.Emulator;

/// <summary>
/// The emulator on its own Kestrel server, on 127.0.0.1 and an ephemeral port, in the current process. Point an app at it
/// with <see cref="ClientConfiguration"/>; dispose it to stop it.
/// </summary>
public sealed class PitchlyEmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private PitchlyEmulatorServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Emulator = app.Services.GetRequiredService<PitchlyEmulator>();
        ClientConfiguration = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Pitchly:ClientId"] = PitchlyEmulatorDefaults.ClientId,
            ["Pitchly:ClientSecret"] = PitchlyEmulatorDefaults.ClientSecret,
            ["Pitchly:AuthorizationEndpoint"] = new Uri(baseAddress, PitchlyEmulatorDefaults.AuthorizationPath).ToString(),
            ["Pitchly:TokenEndpoint"] = new Uri(baseAddress, PitchlyEmulatorDefaults.TokenPath).ToString(),
            ["Pitchly:GraphQLEndpoint"] = new Uri(baseAddress, PitchlyEmulatorDefaults.GraphQLPath).ToString(),
        };
    }

    /// <summary>Gets the server's base address, e.g. <c>http://127.0.0.1:49321/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the emulator's state: counters, settings, people, request log.</summary>
    public PitchlyEmulator Emulator { get; }

    /// <summary>
    /// Gets the settings an app needs to use this server with the default client: <c>Pitchly:ClientId</c>,
    /// <c>Pitchly:ClientSecret</c>, <c>Pitchly:AuthorizationEndpoint</c>, <c>Pitchly:TokenEndpoint</c> and
    /// <c>Pitchly:GraphQLEndpoint</c>. Add them to the app's configuration (e.g. <c>AddInMemoryCollection</c>).
    /// </summary>
    public IReadOnlyDictionary<string, string?> ClientConfiguration { get; }

    /// <summary>Starts an emulator server; its logging is silenced.</summary>
    /// <param name="configure">Edits the emulator's options.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static Task<PitchlyEmulatorServer> StartAsync(Action<PitchlyEmulatorOptions>? configure = null, CancellationToken cancellationToken = default) =>
        StartAsync(configuration: null, configure, loggerFactory: null, cancellationToken);

    /// <summary>Starts an emulator server with options bound from the <c>Pitchly:Emulator</c> section; its logging is silenced.</summary>
    /// <param name="configuration">The root configuration to bind <c>Pitchly:Emulator</c> from.</param>
    /// <param name="configure">Edits the emulator's options after binding.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static Task<PitchlyEmulatorServer> StartAsync(
        IConfiguration configuration,
        Action<PitchlyEmulatorOptions>? configure = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return StartAsync(configuration, configure, loggerFactory: null, cancellationToken);
    }

    /// <summary>Starts an emulator server.</summary>
    /// <param name="configuration">The root configuration to bind <c>Pitchly:Emulator</c> from, or <see langword="null"/>.</param>
    /// <param name="configure">Edits the emulator's options after binding, or <see langword="null"/>.</param>
    /// <param name="loggerFactory">Receives the server's logs; <see langword="null"/> silences them.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static async Task<PitchlyEmulatorServer> StartAsync(
        IConfiguration? configuration,
        Action<PitchlyEmulatorOptions>? configure,
        ILoggerFactory? loggerFactory,
        CancellationToken cancellationToken = default)
    {
        // An empty builder: the app's own appsettings, URLs and environment must not leak into the emulator's host.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(PitchlyEmulatorServer).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory ?? NullLoggerFactory.Instance));
        if (configuration is not null)
        {
            builder.Services.AddPitchlyEmulator(configuration);
        }

        builder.Services.AddPitchlyEmulator(configure);

        var app = builder.Build();
        app.MapPitchlyEmulator();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var server = new PitchlyEmulatorServer(app, new Uri(address.TrimEnd('/') + "/"));
        server.Emulator.Logger.ServerStarted(server.BaseAddress);
        return server;
    }

    /// <summary>Stops the server.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Emulator;
using Pitchly.AspNetCore.Emulator.Internal;

namespace Microsoft.Extensions.Hosting;

/// <summary>Runs an app on an embedded Pitchly emulator when no Pitchly client is configured.</summary>
public static class PitchlyEmulatorHostApplicationBuilderExtensions
{
    /// <summary>
    /// When <c>Pitchly:ClientId</c> is empty, starts a <see cref="PitchlyEmulatorServer"/> (options from the
    /// <c>Pitchly:Emulator</c> section), adds its <see cref="PitchlyEmulatorServer.ClientConfiguration"/> to the
    /// builder's configuration, registers the server as a singleton that stops with the host, and logs one line with its
    /// address when the host starts. When a client is configured, changes nothing.
    /// </summary>
    /// <param name="builder">The app's builder; call this before reading the <c>Pitchly</c> settings.</param>
    /// <param name="cancellationToken">Cancels the server's start.</param>
    /// <returns>The started server, or <see langword="null"/> when a Pitchly client is configured.</returns>
    public static async Task<PitchlyEmulatorServer?> AddPitchlyEmulatorUnlessConfiguredAsync(
        this IHostApplicationBuilder builder,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!string.IsNullOrEmpty(builder.Configuration["Pitchly:ClientId"]))
        {
            return null;
        }

        var server = await PitchlyEmulatorServer.StartAsync(builder.Configuration, configure: null, cancellationToken);
        builder.Configuration.AddInMemoryCollection(server.ClientConfiguration);

        // A factory registration, so that the container disposes (stops) the server with the host.
        builder.Services.AddSingleton(_ => server);
        builder.Services.AddHostedService(provider => new EmbeddedEmulatorAnnouncer(
            server.BaseAddress,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("Pitchly.AspNetCore.Emulator")));
        return server;
    }
}

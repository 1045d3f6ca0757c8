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
    /// When <c>Pitchly:ClientId</c> is empty and the app runs in the Development environment (or
    /// <c>Pitchly:Emulator:Enabled</c> is <c>true</c>), starts a <see cref="PitchlyEmulatorServer"/> (options from the
    /// <c>Pitchly:Emulator</c> section), adds its <see cref="PitchlyEmulatorServer.ClientConfiguration"/> to the
    /// builder's configuration, registers the server as a singleton that stops when the host stops, and logs one line with its
    /// address when the host starts. Otherwise changes nothing: in any other environment an app without
    /// <c>Pitchly:ClientId</c> is stopped at start-up by the Pitchly options' validation, with a message naming the key,
    /// so a deployed app never runs a fake identity provider whose consent page lets anyone sign in as anyone.
    /// <c>Pitchly:Emulator:Enabled=false</c> keeps the emulator off in Development too.
    /// </summary>
    /// <param name="builder">The app's builder; call this before reading the <c>Pitchly</c> settings.</param>
    /// <param name="cancellationToken">Cancels the server's start.</param>
    /// <returns>
    /// The started server, or <see langword="null"/> when a Pitchly client is configured or the emulator is not enabled.
    /// </returns>
    /// <exception cref="InvalidOperationException"><c>Pitchly:Emulator:Enabled</c> is neither <c>true</c> nor <c>false</c>.</exception>
    public static async Task<PitchlyEmulatorServer?> AddPitchlyEmulatorUnlessConfiguredAsync(
        this IHostApplicationBuilder builder,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!string.IsNullOrEmpty(builder.Configuration["Pitchly:ClientId"]) || !IsEnabled(builder))
        {
            return null;
        }

        var server = await PitchlyEmulatorServer.StartAsync(builder.Configuration, configure: null, cancellationToken);
        builder.Configuration.AddInMemoryCollection(server.ClientConfiguration);

        // The hosted service stops the server with the host; the factory registration makes the container stop it
        // too when a host that never ran is disposed after resolving it.
        builder.Services.AddSingleton(_ => server);
        builder.Services.AddHostedService(provider => new EmbeddedEmulatorLifetime(
            server,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("Pitchly.AspNetCore.Emulator")));
        return server;
    }

    private static bool IsEnabled(IHostApplicationBuilder builder)
    {
        var key = PitchlyEmulatorDefaults.ConfigurationSection + ":Enabled";
        var value = builder.Configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return builder.Environment.IsDevelopment();
        }

        return bool.TryParse(value, out var enabled)
            ? enabled
            : throw new InvalidOperationException($"{key} must be true or false, not '{value}'.");
    }
}

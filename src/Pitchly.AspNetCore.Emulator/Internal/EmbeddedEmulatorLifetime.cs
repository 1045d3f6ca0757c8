using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>
/// Ties an embedded emulator server to the app's host: says where it runs once the app's logging is up, and stops it
/// when the host stops.
/// </summary>
internal sealed class EmbeddedEmulatorLifetime(PitchlyEmulatorServer server, ILogger logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.RunningOnEmbeddedEmulator(server.BaseAddress);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await server.DisposeAsync();
}

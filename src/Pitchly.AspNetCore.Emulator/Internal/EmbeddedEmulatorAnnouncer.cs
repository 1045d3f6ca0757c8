using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>Says, once the app's logging is up, that the app runs on the embedded emulator and where.</summary>
internal sealed class EmbeddedEmulatorAnnouncer(Uri baseAddress, ILogger logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.RunningOnEmbeddedEmulator(baseAddress);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>
/// Once the app's server listens, stops the app when the emulator's endpoints are mapped and the server listens on an
/// address other machines can reach, unless <see cref="PitchlyEmulatorOptions.AllowRemote"/> is set (then it warns).
/// Every emulator endpoint also refuses non-loopback callers without that setting, so nothing is served in between.
/// </summary>
internal sealed class ListenAddressCheck(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var emulator = services.GetService<PitchlyEmulator>();
        if (emulator is null || !emulator.EndpointsMapped)
        {
            return Task.CompletedTask;
        }

        // No address feature (TestServer) or no addresses: nothing listens on a network.
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var remote = addresses.Where(address => !Loopback.IsListenAddress(address)).ToList();
        if (remote.Count == 0)
        {
            return Task.CompletedTask;
        }

        if (emulator.Options.AllowRemote)
        {
            foreach (var address in remote)
            {
                emulator.Logger.ListeningRemotely(address);
            }

            return Task.CompletedTask;
        }

        foreach (var address in remote)
        {
            emulator.Logger.RemoteBindingRefused(address);
        }

        throw new InvalidOperationException(
            $"The Pitchly emulator refuses to serve on {string.Join(", ", remote)}: other machines can reach it, and the emulator lets anyone "
            + "sign in as anyone and hands out tokens of every organization to its published default client. Listen on http://127.0.0.1:<port> "
            + $"or http://localhost:<port>, or allow it explicitly with {PitchlyEmulatorDefaults.ConfigurationSection}:{nameof(PitchlyEmulatorOptions.AllowRemote)}=true "
            + "(pitchly-emulator: --allow-remote).");
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

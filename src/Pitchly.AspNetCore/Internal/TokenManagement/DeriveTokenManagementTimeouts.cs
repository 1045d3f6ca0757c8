using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Lets the timeouts that only exist to outlast another follow it when left at their defaults: raising
/// <c>TokenRequestTimeout</c> past 44 seconds lengthens <c>FenceTimeout</c> (to it + 15 s), and a fence longer than
/// 60 seconds lengthens <c>StoreWriteRetryTimeout</c> to it. Values set explicitly are kept and validated as they are.
/// </summary>
internal sealed class DeriveTokenManagementTimeouts : IPostConfigureOptions<PitchlyTokenManagementOptions>
{
    private static readonly PitchlyTokenManagementOptions Defaults = new();
    private static readonly TimeSpan FenceMargin = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan MinSendWindow = TimeSpan.FromSeconds(1);

    public void PostConfigure(string? name, PitchlyTokenManagementOptions options)
    {
        if (options.FenceTimeout == Defaults.FenceTimeout && options.TokenRequestTimeout + MinSendWindow > options.FenceTimeout && options.TokenRequestTimeout > TimeSpan.Zero)
        {
            options.FenceTimeout = options.TokenRequestTimeout + FenceMargin;
        }

        if (options.StoreWriteRetryTimeout == Defaults.StoreWriteRetryTimeout && options.StoreWriteRetryTimeout < options.FenceTimeout)
        {
            options.StoreWriteRetryTimeout = options.FenceTimeout;
        }
    }
}

using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Keeps sign-in's backchannel from following redirects: the code exchange posts the client secret, the code and the
/// PKCE verifier, which a 307 would replay to another host. Runs before the OAuth handler's own post-configuration
/// builds the backchannel, so it sees the handler the app set (<see cref="Microsoft.AspNetCore.Authentication.RemoteAuthenticationOptions.BackchannelHttpHandler"/>)
/// or supplies the default one with redirects off. A complete <see cref="Microsoft.AspNetCore.Authentication.RemoteAuthenticationOptions.Backchannel"/>
/// set by the app is left as it is.
/// </summary>
internal sealed class RefuseBackchannelRedirects : IPostConfigureOptions<PitchlyAuthenticationOptions>
{
    public void PostConfigure(string? name, PitchlyAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backchannel is not null)
        {
            return;
        }

        options.BackchannelHttpHandler ??= new HttpClientHandler();
        PitchlyRedirects.Refuse(options.BackchannelHttpHandler);
    }
}

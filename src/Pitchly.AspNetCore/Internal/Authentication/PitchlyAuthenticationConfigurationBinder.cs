using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Binds one Pitchly scheme's options from the <c>Pitchly</c> configuration section. Registered before the scheme's
/// code configuration, so code overrides configuration.
/// </summary>
internal sealed class PitchlyAuthenticationConfigurationBinder(string scheme, IConfiguration? configuration)
    : IConfigureNamedOptions<PitchlyAuthenticationOptions>
{
    public void Configure(string? name, PitchlyAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (configuration is null || !string.Equals(name, scheme, StringComparison.Ordinal))
        {
            return;
        }

        configuration.GetSection(PitchlyAuthenticationDefaults.ConfigurationSection).Bind(options);
    }

    public void Configure(PitchlyAuthenticationOptions options) => Configure(Options.DefaultName, options);
}

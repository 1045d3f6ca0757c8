using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Binds one Pitchly scheme's options from the <c>Pitchly</c> configuration section (and, when
/// <c>Pitchly:GraphQLEndpoint</c> is unset, the endpoint from <c>Pitchly:GraphQL:Endpoint</c>). Registered before the
/// scheme's code configuration, so code overrides configuration.
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

        // One GraphQL endpoint: an app that set only the GraphQL client's key signs in against the same endpoint.
        if (string.IsNullOrEmpty(configuration["Pitchly:GraphQLEndpoint"]) && configuration["Pitchly:GraphQL:Endpoint"] is { Length: > 0 } clientEndpoint)
        {
            options.GraphQLEndpoint = clientEndpoint;
        }
    }

    public void Configure(PitchlyAuthenticationOptions options) => Configure(Options.DefaultName, options);
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Binds <see cref="PitchlyTokenManagementOptions"/> from the <c>Pitchly</c> section (credentials and endpoint shared
/// with sign-in) and then <c>Pitchly:TokenManagement</c>. Runs before code configuration, which therefore wins.
/// </summary>
internal sealed class ConfigurePitchlyTokenManagementOptions : IConfigureOptions<PitchlyTokenManagementOptions>
{
    public const string SectionName = "Pitchly";
    public const string TokenManagementSectionName = "Pitchly:TokenManagement";

    private readonly IConfiguration? _configuration;

    public ConfigurePitchlyTokenManagementOptions(IConfiguration? configuration = null) => _configuration = configuration;

    public void Configure(PitchlyTokenManagementOptions options)
    {
        if (_configuration is null)
        {
            return;
        }

        _configuration.GetSection(SectionName).Bind(options);
        _configuration.GetSection(TokenManagementSectionName).Bind(options);
    }
}

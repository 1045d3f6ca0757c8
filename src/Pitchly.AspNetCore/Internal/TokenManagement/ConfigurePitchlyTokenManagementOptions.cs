using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Binds <see cref="PitchlyTokenManagementOptions"/> from <c>Pitchly:TokenManagement</c>. Runs before code
/// configuration, which therefore wins. The credentials and token endpoint shared with sign-in are filled in afterwards
/// (<see cref="TakeCredentialsFromSignIn"/>); nothing else of the <c>Pitchly</c> section is read, so a sign-in setting
/// such as <c>Pitchly:Scope</c> never changes refreshes.
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

        _configuration.GetSection(TokenManagementSectionName).Bind(options);
    }
}

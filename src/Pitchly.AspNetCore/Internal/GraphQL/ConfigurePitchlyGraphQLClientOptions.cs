using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// Reads the settings from <c>Pitchly:GraphQL</c>. Runs before code configuration, which therefore wins. The endpoint
/// is derived afterwards from the one endpoint setting, <c>Pitchly:GraphQLEndpoint</c> (<see cref="DeriveGraphQLEndpoint"/>).
/// </summary>
internal sealed class ConfigurePitchlyGraphQLClientOptions : IConfigureOptions<PitchlyGraphQLClientOptions>
{
    public const string EndpointKey = "Pitchly:GraphQLEndpoint";
    public const string SectionName = "Pitchly:GraphQL";

    private readonly IConfiguration? _configuration;

    public ConfigurePitchlyGraphQLClientOptions(IConfiguration? configuration = null) => _configuration = configuration;

    public void Configure(PitchlyGraphQLClientOptions options) => _configuration?.GetSection(SectionName).Bind(options);
}

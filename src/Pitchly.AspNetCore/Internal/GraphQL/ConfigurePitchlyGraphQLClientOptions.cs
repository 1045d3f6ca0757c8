using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// Reads the endpoint from <c>Pitchly:GraphQLEndpoint</c> (the key the emulator and sign-in share) and the other
/// settings from <c>Pitchly:GraphQL</c>. Runs before code configuration, which therefore wins.
/// </summary>
internal sealed class ConfigurePitchlyGraphQLClientOptions : IConfigureOptions<PitchlyGraphQLClientOptions>
{
    public const string EndpointKey = "Pitchly:GraphQLEndpoint";
    public const string SectionName = "Pitchly:GraphQL";

    private readonly IConfiguration? _configuration;

    public ConfigurePitchlyGraphQLClientOptions(IConfiguration? configuration = null) => _configuration = configuration;

    public void Configure(PitchlyGraphQLClientOptions options)
    {
        if (_configuration is null)
        {
            return;
        }

        _configuration.GetSection(SectionName).Bind(options);
        if (_configuration[EndpointKey] is { Length: > 0 } endpoint)
        {
            options.Endpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                ? uri
                : throw new OptionsValidationException(
                    Options.DefaultName,
                    typeof(PitchlyGraphQLClientOptions),
                    [$"{EndpointKey} must be an absolute http(s) URL such as https://api.pitchly.com/graphql; it is '{endpoint}'."]);
        }
    }
}

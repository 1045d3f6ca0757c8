using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>Checks the GraphQL client's settings at start-up.</summary>
internal sealed class ValidatePitchlyGraphQLClientOptions(IHostEnvironment? environment = null) : IValidateOptions<PitchlyGraphQLClientOptions>
{
    public ValidateOptionsResult Validate(string? name, PitchlyGraphQLClientOptions options)
    {
        var failures = new List<string>();
        if (options.ConfigurationFailure is { } configurationFailure)
        {
            failures.Add(configurationFailure);
            return ValidateOptionsResult.Fail(failures);
        }

        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{ConfigurePitchlyGraphQLClientOptions.EndpointKey} must be an absolute http(s) URL such as https://api.pitchly.com/graphql; it is '{options.Endpoint}'.");
        }
        else if (PitchlyEndpointRule.IsRefusedHttp(endpoint, environment))
        {
            // Access tokens travel there, in a header or in the body.
            failures.Add(PitchlyEndpointRule.RefusedHttpMessage(ConfigurePitchlyGraphQLClientOptions.EndpointKey, endpoint.OriginalString, ConfigurePitchlyGraphQLClientOptions.EndpointKey));
        }

        if (options.MaxResponseSize <= 0)
        {
            failures.Add($"Pitchly:GraphQL:MaxResponseSize must be a positive number of bytes; it is {options.MaxResponseSize}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>Checks the GraphQL client's settings at start-up.</summary>
internal sealed class ValidatePitchlyGraphQLClientOptions : IValidateOptions<PitchlyGraphQLClientOptions>
{
    public ValidateOptionsResult Validate(string? name, PitchlyGraphQLClientOptions options)
    {
        var failures = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"Pitchly:GraphQLEndpoint must be an absolute http(s) URL such as https://api.pitchly.com/graphql; it is '{options.Endpoint}'.");
        }

        if (options.MaxResponseSize <= 0)
        {
            failures.Add($"Pitchly:GraphQL:MaxResponseSize must be a positive number of bytes; it is {options.MaxResponseSize}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

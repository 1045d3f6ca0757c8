using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Configuration;

namespace Pitchly.AspNetCore.Internal.GraphQL;

/// <summary>
/// Makes <c>Pitchly:GraphQLEndpoint</c> the one GraphQL endpoint setting: with a Pitchly sign-in scheme, the scheme's
/// <c>GraphQLEndpoint</c> (that key, or a value set in code on the scheme); without one, the key itself. The GraphQL
/// clients take it, and the subscription client and the credential handlers' allowed origins derive from theirs. An
/// endpoint set for the client alone (<c>Pitchly:GraphQL:Endpoint</c>, or in code) is kept when the one setting is
/// not set, and stops the start when it says otherwise.
/// </summary>
internal sealed class DeriveGraphQLEndpoint(
    IEnumerable<PitchlySignInScheme> schemes,
    IServiceProvider services,
    IConfiguration? configuration = null) : IPostConfigureOptions<PitchlyGraphQLClientOptions>
{
    private static readonly Uri DefaultEndpoint = new(PitchlyAuthenticationDefaults.GraphQLEndpoint);

    public void PostConfigure(string? name, PitchlyGraphQLClientOptions options)
    {
        var (source, value) = FindSetting();
        if (value is null)
        {
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var endpoint))
        {
            options.ConfigurationFailure = $"{source} must be an absolute http(s) URL such as https://api.pitchly.com/graphql; it is '{value}'.";
            return;
        }

        if (options.Endpoint != DefaultEndpoint && options.Endpoint != endpoint)
        {
            options.ConfigurationFailure =
                $"Two GraphQL endpoints are set: {source} is '{endpoint}', but Pitchly:GraphQL:Endpoint (or PitchlyGraphQLClientOptions.Endpoint in code) is '{options.Endpoint}'. "
                + $"Set only {ConfigurePitchlyGraphQLClientOptions.EndpointKey}: sign-in, the GraphQL clients and the subscription client all take it.";
            return;
        }

        options.Endpoint = endpoint;
    }

    private (string Source, string? Value) FindSetting()
    {
        string? configured = null;
        try
        {
            configured = services.GetService<IOptionsMonitor<PitchlyTokenManagementOptions>>()?.CurrentValue.AuthenticationScheme;
        }
        catch (OptionsValidationException)
        {
            // Token management's own validation reports it.
        }

        if (PitchlySignInScheme.Resolve(schemes, configured, out _) is { } schemeName)
        {
            try
            {
                var scheme = services.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get(schemeName);
                if (scheme.GraphQLEndpoint != PitchlyAuthenticationDefaults.GraphQLEndpoint || configuration?[ConfigurePitchlyGraphQLClientOptions.EndpointKey] is { Length: > 0 })
                {
                    return ($"{ConfigurePitchlyGraphQLClientOptions.EndpointKey} (the GraphQLEndpoint of the sign-in scheme '{schemeName}')", scheme.GraphQLEndpoint);
                }

                return (ConfigurePitchlyGraphQLClientOptions.EndpointKey, null);
            }
            catch (OptionsValidationException)
            {
                // The scheme's own validation reports it; fall back to the key.
            }
        }

        return (ConfigurePitchlyGraphQLClientOptions.EndpointKey, configuration?[ConfigurePitchlyGraphQLClientOptions.EndpointKey] is { Length: > 0 } key ? key : null);
    }
}

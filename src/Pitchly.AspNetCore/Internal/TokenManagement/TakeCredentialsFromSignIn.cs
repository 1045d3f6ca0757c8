using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Configuration;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Gives token management the client credentials and token endpoint of the scheme that signs users in (the tokens it
/// refreshes were issued to that app), whatever the scheme's name and whether its credentials come from configuration
/// or code. Without a Pitchly scheme they come from <c>Pitchly:ClientId</c>, <c>Pitchly:ClientSecret</c> and
/// <c>Pitchly:TokenEndpoint</c>. Values set for token management itself (<c>Pitchly:TokenManagement:*</c> or code)
/// are kept, and an App ID that differs from the scheme's stops the start, since the users' refresh tokens would
/// then fail. Other keys of the <c>Pitchly</c> section (sign-in's <c>Scope</c>) never reach token management.
/// </summary>
internal sealed class TakeCredentialsFromSignIn(
    IEnumerable<PitchlySignInScheme> schemes,
    IServiceProvider services,
    IConfiguration? configuration = null) : IPostConfigureOptions<PitchlyTokenManagementOptions>
{
    public void PostConfigure(string? name, PitchlyTokenManagementOptions options)
    {
        var schemeName = PitchlySignInScheme.Resolve(schemes, options.AuthenticationScheme, out var failure);
        options.ConfigurationFailure = failure;
        var defaultTokenEndpoint = options.TokenEndpoint == PitchlyAuthenticationDefaults.TokenEndpoint;
        if (schemeName is null)
        {
            if (string.IsNullOrEmpty(options.ClientId) && string.IsNullOrEmpty(options.ClientSecret))
            {
                options.ClientId = configuration?["Pitchly:ClientId"] is { Length: > 0 } clientId ? clientId : null;
                options.ClientSecret = configuration?["Pitchly:ClientSecret"] is { Length: > 0 } secret ? secret : null;
            }

            if (defaultTokenEndpoint && configuration?["Pitchly:TokenEndpoint"] is { Length: > 0 } tokenEndpoint)
            {
                options.TokenEndpoint = tokenEndpoint;
            }

            return;
        }

        PitchlyAuthenticationOptions scheme;
        try
        {
            scheme = services.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get(schemeName);
        }
        catch (OptionsValidationException)
        {
            // The scheme's own start-up validation reports the problem; reporting it here again would only repeat it.
            return;
        }

        if (string.IsNullOrEmpty(options.ClientId) && string.IsNullOrEmpty(options.ClientSecret))
        {
            options.ClientId = scheme.ClientId;
            options.ClientSecret = scheme.ClientSecret;
            if (defaultTokenEndpoint)
            {
                options.TokenEndpoint = scheme.TokenEndpoint;
            }
        }
        else
        {
            if (!string.IsNullOrEmpty(scheme.ClientId) && !string.Equals(options.ClientId, scheme.ClientId, StringComparison.Ordinal))
            {
                options.ConfigurationFailure =
                    $"Token management's App ID ('{options.ClientId}', from Pitchly:TokenManagement:ClientId or code) differs from the App ID of the sign-in scheme '{schemeName}' ('{scheme.ClientId}'): "
                    + "the users' refresh tokens were issued to the scheme's app and only its credentials refresh them. Remove token management's ClientId and ClientSecret to use the scheme's.";
            }

            if (defaultTokenEndpoint)
            {
                options.TokenEndpoint = scheme.TokenEndpoint;
            }
        }
    }
}

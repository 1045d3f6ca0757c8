using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Checks one Pitchly scheme's options at start-up and says what to fix. Never repeats the client secret.
/// </summary>
internal sealed class PitchlyAuthenticationOptionsValidator(string scheme, IHostEnvironment? environment)
    : IValidateOptions<PitchlyAuthenticationOptions>
{
    // Pitchly's App Secrets start with this prefix; App IDs never do.
    private const string SecretPrefix = "plys_";

    public ValidateOptionsResult Validate(string? name, PitchlyAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.Equals(name, scheme, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var section = PitchlyAuthenticationDefaults.ConfigurationSection;
        var failures = new ValidateOptionsResultBuilder();
        var where = $"Pitchly authentication scheme '{scheme}'";

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.AddError($"{where}: ClientId is missing. Set {section}:ClientId (or ClientId in AddPitchly) to your app's App ID.");
        }
        else if (options.ClientId.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            failures.AddError($"{where}: ClientId starts with '{SecretPrefix}', so it is an App Secret, not an App ID. Put the App ID in {section}:ClientId and the App Secret in {section}:ClientSecret.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            failures.AddError($"{where}: ClientSecret is missing. Set {section}:ClientSecret (for example with user secrets or an environment variable) to your app's App Secret.");
        }
        else if (string.Equals(options.ClientId, options.ClientSecret, StringComparison.Ordinal))
        {
            failures.AddError($"{where}: ClientId and ClientSecret are the same value. ClientId is the App ID; ClientSecret is the App Secret.");
        }

        CheckEndpoint(failures, where, nameof(options.AuthorizationEndpoint), options.AuthorizationEndpoint);
        CheckEndpoint(failures, where, nameof(options.TokenEndpoint), options.TokenEndpoint);
        CheckEndpoint(failures, where, nameof(options.GraphQLEndpoint), options.GraphQLEndpoint);

        if (options.SaveTokens)
        {
            failures.AddError($"{where}: SaveTokens must be false. Pitchly's refresh tokens rotate and are single-use, so a copy in the authentication cookie goes stale and would expose the refresh token to the browser. The tokens are kept in IPitchlyTokenStore, keyed by PitchlyTokenKey.FromPrincipal(User).");
        }

        if (options.DefaultAccessTokenLifetime <= TimeSpan.Zero)
        {
            failures.AddError($"{where}: DefaultAccessTokenLifetime must be positive (it is {options.DefaultAccessTokenLifetime}).");
        }

        return failures.Build();
    }

    private void CheckEndpoint(ValidateOptionsResultBuilder failures, string where, string property, string? value)
    {
        var key = $"{PitchlyAuthenticationDefaults.ConfigurationSection}:{property}";
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.AddError($"{where}: {property} is missing. Set {key} or leave it unset for Pitchly's default.");
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            failures.AddError($"{where}: {property} '{value}' is not an absolute https URI. Set {key} to a URI such as https://platform.pitchly.com/...");
            return;
        }

        // Loopback http serves local emulators in every environment; any other http endpoint only in Development.
        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri) && environment?.IsDevelopment() != true)
        {
            failures.AddError($"{where}: {property} '{value}' uses http. Outside the Development environment Pitchly endpoints must use https (http is allowed for 127.0.0.1, localhost and [::1]). Fix {key}.");
        }
    }

    internal static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));
}

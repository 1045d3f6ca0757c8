using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.GraphQL;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// Registers what <c>MapPitchlyTokenExchange</c> needs, as part of token management: endpoints are mapped after the
/// services are built, so they cannot add services themselves.
/// </summary>
internal static class PitchlyTokenExchangeRegistration
{
    public const string SectionName = "Pitchly:TokenExchange";

    public static void AddTokenExchange(IServiceCollection services)
    {
        services.AddOptions<PitchlyTokenExchangeOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PitchlyTokenExchangeOptions>, ConfigureTokenExchangeOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyTokenExchangeOptions>, ValidateTokenExchangeOptions>());
        PitchlyGraphQLRegistration.AddGraphQLClientOptions(services);
        services.AddHttpClient(PitchlyTokenExchangeHandler.HttpClientName).RedactCredentialHeaders();
        services.TryAddSingleton<OrganizationVerifier>();
        services.TryAddSingleton<TokenExchangeRateLimiter>();
        services.TryAddSingleton<PitchlyTokenExchangeHandler>();
    }

    private sealed class ConfigureTokenExchangeOptions(IConfiguration? configuration = null) : IConfigureOptions<PitchlyTokenExchangeOptions>
    {
        public void Configure(PitchlyTokenExchangeOptions options) => configuration?.GetSection(SectionName).Bind(options);
    }

    private sealed class ValidateTokenExchangeOptions : IValidateOptions<PitchlyTokenExchangeOptions>
    {
        public ValidateOptionsResult Validate(string? name, PitchlyTokenExchangeOptions options)
        {
            var failures = new List<string>();
            if (string.IsNullOrWhiteSpace(options.GrantType))
            {
                failures.Add($"{SectionName}:GrantType must name the grant, for example urn:ietf:params:oauth:grant-type:token-exchange.");
            }

            if (string.IsNullOrWhiteSpace(options.SubjectTokenParameter))
            {
                failures.Add($"{SectionName}:SubjectTokenParameter must name the form parameter that carries the App SDK token, for example subject_token.");
            }

            if (options.MaxRequestSize <= 0)
            {
                failures.Add($"{SectionName}:MaxRequestSize must be a positive number of bytes; it is {options.MaxRequestSize}.");
            }

            if (options.PermitsPerClientAddress < 0)
            {
                failures.Add($"{SectionName}:PermitsPerClientAddress must be 0 (no limit) or a positive number of requests; it is {options.PermitsPerClientAddress}.");
            }

            if (options.PermitsPerOrganization < 0)
            {
                failures.Add($"{SectionName}:PermitsPerOrganization must be 0 (no limit) or a positive number of requests; it is {options.PermitsPerOrganization}.");
            }

            if (options.MaxConcurrentExchanges < 0)
            {
                failures.Add($"{SectionName}:MaxConcurrentExchanges must be 0 (no bound) or a positive number of exchanges; it is {options.MaxConcurrentExchanges}.");
            }

            if (options.RateLimitWindow <= TimeSpan.Zero)
            {
                failures.Add($"{SectionName}:RateLimitWindow must be a positive duration such as 00:01:00; it is {options.RateLimitWindow}.");
            }

            foreach (var origin in options.AllowedOrigins)
            {
                if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.PathAndQuery != "/" || origin.EndsWith('/') || !string.IsNullOrEmpty(uri.Fragment))
                {
                    failures.Add($"{SectionName}:AllowedOrigins must hold origins as scheme://host[:port] without a path or trailing slash; '{origin}' is not one.");
                }
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}

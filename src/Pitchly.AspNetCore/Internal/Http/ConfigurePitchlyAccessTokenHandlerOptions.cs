using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.GraphQL;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Reads the access-token handler's settings from <c>Pitchly:AccessToken</c> for every client's handler, so an app
/// switches to the legacy API (token in the GraphQL variable) by configuration alone. Registered before any code
/// configuration, which therefore wins. A value that cannot be read stops the start with a message naming its key.
/// </summary>
internal sealed class ConfigurePitchlyAccessTokenHandlerOptions : IConfigureNamedOptions<PitchlyAccessTokenHandlerOptions>
{
    public const string SectionName = "Pitchly:AccessToken";

    private readonly IConfiguration? _configuration;

    public ConfigurePitchlyAccessTokenHandlerOptions(IConfiguration? configuration = null) => _configuration = configuration;

    /// <summary>Reads and validates <c>Pitchly:AccessToken</c> for every named instance of the options; once however often called.</summary>
    public static void Register(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PitchlyAccessTokenHandlerOptions>, ConfigurePitchlyAccessTokenHandlerOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyAccessTokenHandlerOptions>, ValidatePitchlyAccessTokenHandlerOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlyAccessTokenHandlerOptions>, AddPitchlyEndpointOrigins>());

        // The GraphQL endpoint's origin is allowed, so Pitchly:GraphQLEndpoint must be read even without the GraphQL client.
        PitchlyGraphQLRegistration.AddGraphQLClientOptions(services);
    }

    public void Configure(PitchlyAccessTokenHandlerOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, PitchlyAccessTokenHandlerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_configuration is null)
        {
            return;
        }

        var section = _configuration.GetSection(SectionName);
        var failures = new List<string>();
        if (section[nameof(options.Placement)] is { Length: > 0 } placement)
        {
            if (TryParsePlacement(placement, out var parsed))
            {
                options.Placement = parsed;
            }
            else
            {
                failures.Add($"{SectionName}:Placement must be AuthorizationHeader (current platform), GraphQLVariable (legacy API) or Both; it is '{placement}'.");
            }
        }

        ReadSize(section, nameof(options.MaxRequestBufferSize), failures, value => options.MaxRequestBufferSize = value);
        ReadSize(section, nameof(options.MaxResponseInspectionSize), failures, value => options.MaxResponseInspectionSize = value);

        // A configured list replaces the defaults, so a list that leaves one out means it.
        var codes = section.GetSection(nameof(options.InvalidTokenErrorCodes));
        if (codes.Value is { Length: > 0 } single)
        {
            Replace(options.InvalidTokenErrorCodes, single.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        else if (codes.GetChildren().ToList() is { Count: > 0 } entries)
        {
            Replace(options.InvalidTokenErrorCodes, entries.Select(entry => entry.Value ?? string.Empty));
        }

        // Added to Pitchly's own endpoints, never replacing them.
        var origins = section.GetSection(nameof(options.AllowedOrigins));
        if (origins.Value is { Length: > 0 } list)
        {
            options.AllowedOrigins.UnionWith(list.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        else
        {
            options.AllowedOrigins.UnionWith(origins.GetChildren().Select(entry => entry.Value ?? string.Empty));
        }

        if (section[nameof(options.AllowCustomPrimaryHandler)] is { Length: > 0 } allowCustom)
        {
            if (bool.TryParse(allowCustom, out var allow))
            {
                options.AllowCustomPrimaryHandler = allow;
            }
            else
            {
                failures.Add($"{SectionName}:AllowCustomPrimaryHandler must be true or false; it is '{allowCustom}'.");
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(name ?? Options.DefaultName, typeof(PitchlyAccessTokenHandlerOptions), failures);
        }
    }

    private static bool TryParsePlacement(string text, out PitchlyTokenPlacement placement)
    {
        placement = PitchlyTokenPlacement.None;

        // Flags by name only ("GraphQLVariable", "AuthorizationHeader, GraphQLVariable"): a number would hide a typo.
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0 || char.IsDigit(part[0]) || part[0] == '-'
                || !Enum.TryParse<PitchlyTokenPlacement>(part, ignoreCase: true, out var value)
                || !Enum.IsDefined(value))
            {
                return false;
            }

            placement |= value;
        }

        return true;
    }

    private static void ReadSize(IConfigurationSection section, string key, List<string> failures, Action<int> apply)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            apply(value);
        }
        else
        {
            failures.Add($"{SectionName}:{key} must be a whole number of bytes such as 1048576; it is '{text}'.");
        }
    }

    private static void Replace(ISet<string> set, IEnumerable<string> values)
    {
        set.Clear();
        foreach (var value in values)
        {
            set.Add(value);
        }
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>Binds <see cref="PitchlySubscriptionClientOptions"/> from <c>Pitchly:Subscriptions</c>. Runs before code configuration, which therefore wins.</summary>
internal sealed class ConfigurePitchlySubscriptionClientOptions : IConfigureOptions<PitchlySubscriptionClientOptions>
{
    public const string SectionName = "Pitchly:Subscriptions";

    private readonly IConfiguration? _configuration;

    public ConfigurePitchlySubscriptionClientOptions(IConfiguration? configuration = null) => _configuration = configuration;

    public void Configure(PitchlySubscriptionClientOptions options)
    {
        if (_configuration is null)
        {
            return;
        }

        var section = _configuration.GetSection(SectionName);
        if (section[nameof(PitchlySubscriptionClientOptions.Endpoint)] is { Length: > 0 } endpoint)
        {
            options.Endpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                ? uri
                : throw new OptionsValidationException(
                    Options.DefaultName,
                    typeof(PitchlySubscriptionClientOptions),
                    [$"{SectionName}:Endpoint must be an absolute ws(s) URL such as wss://api.pitchly.com/subscriptions; it is '{endpoint}'."]);
        }

        section.Bind(options);
    }
}

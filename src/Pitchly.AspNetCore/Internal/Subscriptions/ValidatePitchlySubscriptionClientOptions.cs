using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.Authentication;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>Checks the subscription client's settings at start-up and names the key to fix.</summary>
internal sealed class ValidatePitchlySubscriptionClientOptions : IValidateOptions<PitchlySubscriptionClientOptions>
{
    private const string Section = ConfigurePitchlySubscriptionClientOptions.SectionName;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    private readonly IHostEnvironment? _environment;

    public ValidatePitchlySubscriptionClientOptions(IHostEnvironment? environment = null) => _environment = environment;

    public ValidateOptionsResult Validate(string? name, PitchlySubscriptionClientOptions options)
    {
        var failures = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeWss && endpoint.Scheme != Uri.UriSchemeWs))
        {
            failures.Add($"{Section}:Endpoint must be an absolute ws(s) URL such as wss://api.pitchly.com/subscriptions (or unset, to derive it from Pitchly:GraphQLEndpoint); it is '{options.Endpoint}'.");
        }
        else if (endpoint.Scheme == Uri.UriSchemeWs && !PitchlyAuthenticationOptionsValidator.IsLoopback(endpoint) && _environment?.IsDevelopment() != true)
        {
            // Loopback ws serves local emulators in every environment; any other plain ws endpoint only in Development.
            failures.Add($"{Section}:Endpoint '{endpoint}' uses ws. Outside the Development environment Pitchly subscriptions must use wss (ws is allowed for 127.0.0.1, localhost and [::1]). Fix {Section}:Endpoint, or Pitchly:GraphQLEndpoint it is derived from.");
        }

        RequirePositive(failures, nameof(options.ConnectionTimeout), options.ConnectionTimeout);
        if (options.KeepAliveInterval < TimeSpan.Zero || options.KeepAliveInterval > MaxDuration)
        {
            failures.Add($"{Section}:KeepAliveInterval must be zero (no pings) or a positive duration of at most a day; it is {options.KeepAliveInterval}.");
        }

        RequirePositive(failures, nameof(options.ReconnectDelay), options.ReconnectDelay);
        RequirePositive(failures, nameof(options.MaxReconnectDelay), options.MaxReconnectDelay);
        if (options.MaxReconnectDelay < options.ReconnectDelay)
        {
            failures.Add($"{Section}:MaxReconnectDelay ({options.MaxReconnectDelay}) must not be shorter than {Section}:ReconnectDelay ({options.ReconnectDelay}).");
        }

        if (options.MaxReconnectAttempts < 0)
        {
            failures.Add($"{Section}:MaxReconnectAttempts must be zero (give up at the first loss) or positive; it is {options.MaxReconnectAttempts}.");
        }

        if (options.MaxMessageSize <= 0)
        {
            failures.Add($"{Section}:MaxMessageSize must be a positive number of bytes; it is {options.MaxMessageSize}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequirePositive(List<string> failures, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value > MaxDuration)
        {
            failures.Add($"{Section}:{name} must be a positive duration of at most a day, such as 00:00:05; it is {value}.");
        }
    }
}

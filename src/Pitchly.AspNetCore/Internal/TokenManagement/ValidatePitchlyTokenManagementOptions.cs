using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Checks token management settings at start-up. Missing client credentials are not an error here: sign-in may supply
/// them, and an app that only reads stored tokens never needs them; the first grant that lacks them fails with a
/// message naming the settings. Half of a pair (an id without a secret, or the reverse) is always a mistake.
/// </summary>
internal sealed class ValidatePitchlyTokenManagementOptions(IHostEnvironment? environment = null) : IValidateOptions<PitchlyTokenManagementOptions>
{
    private const string TokenEndpointKey = "Pitchly:TokenEndpoint";
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    // The least time a fence's owner gets between writing the fence and sending its request.
    private static readonly TimeSpan MinSendWindow = TimeSpan.FromSeconds(1);

    public ValidateOptionsResult Validate(string? name, PitchlyTokenManagementOptions options)
    {
        var failures = new List<string>();
        if (options.ConfigurationFailure is { } configurationFailure)
        {
            failures.Add(configurationFailure);
        }

        if (!Uri.TryCreate(options.TokenEndpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{TokenEndpointKey} must be an absolute http(s) URL such as https://platform.pitchly.com/api/oauth/token; it is '{options.TokenEndpoint}'.");
        }
        else if (PitchlyEndpointRule.IsRefusedHttp(endpoint, environment))
        {
            // The client secret and refresh tokens are posted there.
            failures.Add(PitchlyEndpointRule.RefusedHttpMessage(TokenEndpointKey, options.TokenEndpoint, TokenEndpointKey));
        }

        if (string.IsNullOrEmpty(options.ClientId) != string.IsNullOrEmpty(options.ClientSecret))
        {
            failures.Add(string.IsNullOrEmpty(options.ClientSecret)
                ? "Pitchly:ClientSecret is missing while Pitchly:ClientId is set: set the App Secret (user secrets or environment, never in source)."
                : "Pitchly:ClientId is missing while Pitchly:ClientSecret is set: set the App ID.");
        }

        RequirePositive(failures, "RefreshBeforeExpiry", options.RefreshBeforeExpiry);
        RequireTimeout(failures, "RefreshTimeout", options.RefreshTimeout);
        RequireTimeout(failures, "TokenRequestTimeout", options.TokenRequestTimeout);
        RequireTimeout(failures, "TokenEndpointRetryInterval", options.TokenEndpointRetryInterval);
        RequireRetryTimeout(failures, "TokenEndpointRetryTimeout", options.TokenEndpointRetryTimeout);
        RequireRetryTimeout(failures, "StoreWriteRetryTimeout", options.StoreWriteRetryTimeout);
        RequireTimeout(failures, "FenceTimeout", options.FenceTimeout);
        RequireTimeout(failures, "RejectedTokenCoolDown", options.RejectedTokenCoolDown);
        RequireTimeout(failures, "FailedRenewalRetryInterval", options.FailedRenewalRetryInterval);
        RequirePositive(failures, "InMemoryRecordTimeToLive", options.InMemoryRecordTimeToLive);
        if (options.InMemoryMaxRecords < 0)
        {
            failures.Add($"Pitchly:TokenManagement:InMemoryMaxRecords must be zero (no cap) or positive; it is {options.InMemoryMaxRecords}.");
        }
        if (options.FenceTimeout - options.TokenRequestTimeout < MinSendWindow)
        {
            failures.Add(
                $"Pitchly:TokenManagement:FenceTimeout ({options.FenceTimeout}) must exceed Pitchly:TokenManagement:TokenRequestTimeout ({options.TokenRequestTimeout}) "
                + $"by at least {MinSendWindow.TotalSeconds:0} s: the fence must outlast the token request it covers. Raise FenceTimeout or lower TokenRequestTimeout.");
        }

        ValidateWriteCoverage(failures, options);
        if (options.RejectedTokenLimit < 2)
        {
            failures.Add($"Pitchly:TokenManagement:RejectedTokenLimit must be at least 2 (one early invalidation must never pause refreshing); it is {options.RejectedTokenLimit}.");
        }

        if (options.MaxTokenResponseSize <= 0)
        {
            failures.Add($"Pitchly:TokenManagement:MaxTokenResponseSize must be a positive number of bytes; it is {options.MaxTokenResponseSize}.");
        }

        foreach (var organizationId in options.ClientCredentialsOrganizations)
        {
            if (string.IsNullOrWhiteSpace(organizationId) || organizationId.Trim() != organizationId)
            {
                failures.Add($"Pitchly:TokenManagement:ClientCredentialsOrganizations must hold organization ids without blanks around them; '{organizationId}' is not one.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// Once Pitchly has answered, the new tokens exist only in the refreshing process until they are stored. Every write
    /// attempt extends the owner's fence, but a store out of reach for this process cannot be told: the fence then lapses
    /// at most <see cref="PitchlyTokenManagementOptions.FenceTimeout"/> after it was last written, another instance may
    /// claim the record (marking its refresh token as possibly spent and serving the current access token meanwhile), and
    /// the late write still lands over it as long as the owner keeps trying. An owner that gave up sooner would drop
    /// tokens while its own fence still kept every other instance from refreshing.
    /// </summary>
    private static void ValidateWriteCoverage(List<string> failures, PitchlyTokenManagementOptions options)
    {
        if (options.StoreWriteRetryTimeout < options.FenceTimeout)
        {
            failures.Add(
                $"Pitchly:TokenManagement:StoreWriteRetryTimeout ({options.StoreWriteRetryTimeout}) is shorter than Pitchly:TokenManagement:FenceTimeout ({options.FenceTimeout}): "
                + "a refresh that cannot reach the store right after Pitchly answered would drop its new tokens while its own fence still keeps every other instance from refreshing, "
                + "and the user would have to sign in again. Every write attempt extends the fence, and once the fence lapses another instance only marks the refresh token as possibly spent, "
                + "so a write retried at least as long as the fence lasts still lands. Raise StoreWriteRetryTimeout to at least FenceTimeout, or lower FenceTimeout.");
        }
    }

    private static void RequirePositive(List<string> failures, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"Pitchly:TokenManagement:{name} must be a positive duration such as 00:00:05; it is {value}.");
        }
    }

    // Timers and cancellation sources refuse durations beyond about 49 days; a day is already far beyond any sane wait.
    private static void RequireTimeout(List<string> failures, string name, TimeSpan value)
    {
        RequirePositive(failures, name, value);
        RequireAtMostOneDay(failures, name, value);
    }

    private static void RequireRetryTimeout(List<string> failures, string name, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            failures.Add($"Pitchly:TokenManagement:{name} must be zero (no retry) or positive; it is {value}.");
        }

        RequireAtMostOneDay(failures, name, value);
    }

    private static void RequireAtMostOneDay(List<string> failures, string name, TimeSpan value)
    {
        if (value > MaxTimeout)
        {
            failures.Add($"Pitchly:TokenManagement:{name} must be at most one day (1.00:00:00); it is {value}.");
        }
    }
}

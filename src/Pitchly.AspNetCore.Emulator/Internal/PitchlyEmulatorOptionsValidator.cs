using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>Checks <see cref="PitchlyEmulatorOptions"/> at start and on every runtime change; messages say what to fix.</summary>
internal sealed class PitchlyEmulatorOptionsValidator : IValidateOptions<PitchlyEmulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, PitchlyEmulatorOptions options)
    {
        var failures = Failures(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static List<string> Failures(PitchlyEmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Section = PitchlyEmulatorDefaults.ConfigurationSection;
        var failures = new List<string>();

        RequirePositive(options.AccessTokenLifetime, nameof(options.AccessTokenLifetime));
        RequirePositive(options.AuthorizationCodeLifetime, nameof(options.AuthorizationCodeLifetime));
        RequirePositive(options.AppSdkTokenLifetime, nameof(options.AppSdkTokenLifetime));
        RequireNotNegative(options.Latency, nameof(options.Latency));
        RequireNotNegative(options.TokenEndpointFaultDelay, nameof(options.TokenEndpointFaultDelay));
        RequireRate(options.EarlyInvalidationRate, nameof(options.EarlyInvalidationRate));
        RequireRate(options.TokenEndpointFaultRate, nameof(options.TokenEndpointFaultRate));

        if (options.GeneratedUsers is < 0 or > 1_000_000)
        {
            failures.Add($"{Section}:{nameof(options.GeneratedUsers)} must be between 0 and 1000000; it is {options.GeneratedUsers}.");
        }

        if (options.GraphQLRequestLogCapacity < 0)
        {
            failures.Add($"{Section}:{nameof(options.GraphQLRequestLogCapacity)} must be 0 or more; it is {options.GraphQLRequestLogCapacity}.");
        }

        if (options.MaxRequestBodySize is < 1024 or > 1024L * 1024 * 1024)
        {
            failures.Add($"{Section}:{nameof(options.MaxRequestBodySize)} must be between 1024 and 1073741824 bytes; it is {options.MaxRequestBodySize}.");
        }

        if (options.AllowRemoteAdmin && !options.AllowRemote)
        {
            failures.Add($"{Section}:{nameof(options.AllowRemoteAdmin)} opens the /_emulator endpoints to other machines, which needs {Section}:{nameof(options.AllowRemote)}=true too.");
        }

        RequireBetween(options.MaxQueryDepth, 1, 1000, nameof(options.MaxQueryDepth));
        RequireBetween(options.MaxSubscriptionOperations, 1, 100_000, nameof(options.MaxSubscriptionOperations));
        RequireBetween(options.MaxSubscriptionSendQueue, 1, 1_000_000, nameof(options.MaxSubscriptionSendQueue));
        RequireBetween(options.MaxSpentRefreshTokens, 1, 100_000_000, nameof(options.MaxSpentRefreshTokens));

        if (!Enum.IsDefined(options.ErrorStyle))
        {
            failures.Add($"{Section}:{nameof(options.ErrorStyle)} must be Platform or Legacy.");
        }

        if (!Enum.IsDefined(options.TokenEndpointFault))
        {
            failures.Add($"{Section}:{nameof(options.TokenEndpointFault)} must be None, ServerError, Delay, DropAfterGrant, Html or DelayAfterGrant.");
        }

        if (options.Clients.Count == 0)
        {
            failures.Add($"{Section}:{nameof(options.Clients)} must hold at least one client.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Clients.Count; i++)
        {
            var client = options.Clients[i];
            if (string.IsNullOrWhiteSpace(client.ClientId))
            {
                failures.Add($"{Section}:{nameof(options.Clients)}:{i}:{nameof(client.ClientId)} is required.");
            }
            else if (!seen.Add(client.ClientId))
            {
                failures.Add($"{Section}:{nameof(options.Clients)}:{i}:{nameof(client.ClientId)} '{client.ClientId}' is registered twice.");
            }

            if (string.IsNullOrWhiteSpace(client.ClientSecret))
            {
                failures.Add($"{Section}:{nameof(options.Clients)}:{i}:{nameof(client.ClientSecret)} is required.");
            }

            for (var j = 0; j < client.RedirectUris.Count; j++)
            {
                if (!Uri.TryCreate(client.RedirectUris[j], UriKind.Absolute, out var uri) || !string.IsNullOrEmpty(uri.Fragment))
                {
                    failures.Add($"{Section}:{nameof(options.Clients)}:{i}:{nameof(client.RedirectUris)}:{j} must be an absolute URI without a fragment.");
                }
            }
        }

        return failures;

        void RequirePositive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{Section}:{name} must be longer than zero; it is {value}.");
            }
        }

        void RequireNotNegative(TimeSpan value, string name)
        {
            if (value < TimeSpan.Zero)
            {
                failures.Add($"{Section}:{name} must not be negative; it is {value}.");
            }
        }

        void RequireBetween(int value, int min, int max, string name)
        {
            if (value < min || value > max)
            {
                failures.Add($"{Section}:{name} must be between {min} and {max}; it is {value}.");
            }
        }

        void RequireRate(double value, string name)
        {
            if (double.IsNaN(value) || value is < 0 or > 1)
            {
                failures.Add($"{Section}:{name} must be between 0 and 1; it is {value}.");
            }
        }
    }
}

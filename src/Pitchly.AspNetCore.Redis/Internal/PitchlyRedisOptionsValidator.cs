using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Checks web-farm settings at start-up, including that Data Protection keys are persisted to a repository: tokens
/// encrypted by one instance must be decryptable by every other.
/// </summary>
internal sealed class PitchlyRedisOptionsValidator(
    IServiceProvider services,
    IOptions<KeyManagementOptions> keyManagementOptions,
    IOptionsMonitor<PitchlyTokenManagementOptions> tokenManagementOptions,
    RedisConnectionFactory? factory = null) : IValidateOptions<PitchlyRedisOptions>
{
    public const string NoConnectionMessage =
        "Pitchly's Redis token store has no Redis connection: set Pitchly:Redis:Configuration (for example \"localhost:6379\") "
        + "or Pitchly:Redis:ConnectionStringName, call AddRedis(\"host:port\"), or register an IConnectionMultiplexer.";

    public const string UnsharedKeysMessage =
        "Pitchly's Redis token store encrypts tokens with ASP.NET Core Data Protection, but its keys are not persisted to a "
        + "shared repository, so other instances could not decrypt them. Persist the key ring where every instance reads it, "
        + "for example services.AddDataProtection().SetApplicationName(\"my-app\").PersistKeysToStackExchangeRedis(...) "
        + "(package Microsoft.AspNetCore.DataProtection.StackExchangeRedis), PersistKeysToFileSystem on a shared path, or "
        + "another shared repository. For a single instance, set Pitchly:Redis:AllowUnsharedDataProtectionKeys to true.";

    public ValidateOptionsResult Validate(string? name, PitchlyRedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            failures.Add("Pitchly:Redis:KeyPrefix must not be empty.");
        }
        else if (options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            // The keys carry a Redis Cluster hash tag of their own right after the prefix; a brace in the prefix would
            // become the tag instead and put a record's keys in another slot than its announcements.
            failures.Add($"Pitchly:Redis:KeyPrefix '{options.KeyPrefix}' must not contain '{{' or '}}': the store adds a Redis Cluster hash tag after it.");
        }

        RequirePositive(failures, options.LockLease, nameof(options.LockLease));
        RequirePositive(failures, options.LockWaitTimeout, nameof(options.LockWaitTimeout));
        RequirePositive(failures, options.LockPollInterval, nameof(options.LockPollInterval));

        // The lock wait runs inside one shared refresh, which RefreshTimeout bounds: a longer wait could never be had.
        var refreshTimeout = tokenManagementOptions.CurrentValue.RefreshTimeout;
        if (options.LockWaitTimeout > refreshTimeout)
        {
            failures.Add(
                $"Pitchly:Redis:LockWaitTimeout ({options.LockWaitTimeout}) is longer than Pitchly:TokenManagement:RefreshTimeout ({refreshTimeout}), "
                + "which ends every refresh's wait for the lock first. Lower LockWaitTimeout or raise RefreshTimeout.");
        }
        RequirePositive(failures, options.RecordTimeToLive, nameof(options.RecordTimeToLive));
        RequirePositive(failures, options.ConnectTimeout, nameof(options.ConnectTimeout));
        RequirePositive(failures, options.OperationTimeout, nameof(options.OperationTimeout));
        if (options.LockLease < TimeSpan.FromMilliseconds(30))
        {
            failures.Add($"Pitchly:Redis:LockLease is {options.LockLease}; use at least 30 ms (renewal runs every third of it).");
        }

        if (options.L1MaxAge < TimeSpan.Zero)
        {
            failures.Add($"Pitchly:Redis:L1MaxAge is {options.L1MaxAge}; use zero (no in-process cache) or a positive age.");
        }

        if (options.L1MaxEntries <= 0)
        {
            failures.Add($"Pitchly:Redis:L1MaxEntries is {options.L1MaxEntries}; it must be positive (set L1MaxAge to zero to turn the in-process cache off).");
        }

        if (options.L1MaxBytes <= 0)
        {
            failures.Add($"Pitchly:Redis:L1MaxBytes is {options.L1MaxBytes}; it must be positive (set L1MaxAge to zero to turn the in-process cache off).");
        }

        if (!Enum.IsDefined(options.OutagePolicy))
        {
            failures.Add($"Pitchly:Redis:OutagePolicy '{options.OutagePolicy}' is unknown; use FailFast or UseCachedTokensOnly.");
        }

        if (options.ReplicaAcknowledgementTimeout < TimeSpan.Zero)
        {
            failures.Add($"Pitchly:Redis:ReplicaAcknowledgementTimeout is {options.ReplicaAcknowledgementTimeout}; use zero (no wait for replicas) or a positive time.");
        }

        if (!Enum.IsDefined(options.UnacknowledgedWritePolicy))
        {
            failures.Add($"Pitchly:Redis:UnacknowledgedWritePolicy '{options.UnacknowledgedWritePolicy}' is unknown; use FailRetryably or AcceptPrimaryOnly.");
        }

        ValidateFenceCoverage(failures, options, tokenManagementOptions.CurrentValue);
        ValidateConnection(failures, options);
        if (!options.AllowUnsharedDataProtectionKeys && keyManagementOptions.Value.XmlRepository is null)
        {
            failures.Add(UnsharedKeysMessage);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// A fence is written, and extended before every write of refreshed tokens, with a wait of up to
    /// <see cref="PitchlyRedisOptions.ReplicaAcknowledgementTimeout"/> for the replicas. The first wait counts against the
    /// send window (<c>FenceTimeout − TokenRequestTimeout</c>, measured from before the fence is written); the extension
    /// and the compare-and-swap after it wait once each, and the extension must still cover that swap.
    /// </summary>
    private static void ValidateFenceCoverage(List<string> failures, PitchlyRedisOptions options, PitchlyTokenManagementOptions tokens)
    {
        var wait = options.ReplicaAcknowledgementTimeout;
        var sendWindow = tokens.FenceTimeout - tokens.TokenRequestTimeout;
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        if (wait >= sendWindow)
        {
            failures.Add(
                $"Pitchly:Redis:ReplicaAcknowledgementTimeout ({wait}) is not shorter than the send window of a refresh, Pitchly:TokenManagement:FenceTimeout − TokenRequestTimeout ({sendWindow}): "
                + "a fence waits for the replicas before its token request may be sent, so behind a slow replica no refresh would ever be sent. "
                + "Lower ReplicaAcknowledgementTimeout, or raise FenceTimeout (or lower TokenRequestTimeout).");
        }
        else if (wait * 2 >= tokens.FenceTimeout)
        {
            failures.Add(
                $"Pitchly:Redis:ReplicaAcknowledgementTimeout ({wait}) is at least half of Pitchly:TokenManagement:FenceTimeout ({tokens.FenceTimeout}): "
                + "every write of refreshed tokens first extends the fence and then swaps the tokens in, each waiting for the replicas, so the extension would not cover the write. "
                + "Lower ReplicaAcknowledgementTimeout or raise FenceTimeout.");
        }
    }

    private void ValidateConnection(List<string> failures, PitchlyRedisOptions options)
    {
        if (factory is not null || !string.IsNullOrWhiteSpace(options.Configuration))
        {
            return;
        }

        if (!string.IsNullOrWhiteSpace(options.ConnectionStringName))
        {
            if (string.IsNullOrWhiteSpace(services.GetService<IConfiguration>()?.GetConnectionString(options.ConnectionStringName)))
            {
                failures.Add($"Pitchly:Redis:ConnectionStringName is '{options.ConnectionStringName}', but ConnectionStrings:{options.ConnectionStringName} is not set.");
            }

            return;
        }

        if (services.GetService<IServiceProviderIsService>()?.IsService(typeof(IConnectionMultiplexer)) != true)
        {
            failures.Add(NoConnectionMessage);
        }
    }

    private static void RequirePositive(List<string> failures, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"Pitchly:Redis:{name} is {value}; it must be positive.");
        }
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Makes the Data Protection key check (<see cref="DataProtectionCanary"/>) at start-up, and fails start-up when this
/// instance cannot read what the first instance wrote: it would find every stored record undecryptable.
/// </summary>
internal sealed class DataProtectionCanaryCheck(DataProtectionCanary canary, RedisConnection connection, ILogger<DataProtectionCanaryCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        DataProtectionCanary.Verdict verdict;
        try
        {
            verdict = await canary.CheckAsync(cancellationToken);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            // Redis being down must not keep the application from starting (the outage policy decides what calls do);
            // the check is made again on the first record that cannot be decrypted.
            RedisLog.DataProtectionCanaryUnchecked(logger, exception);
            return;
        }

        if (verdict == DataProtectionCanary.Verdict.Foreign)
        {
            throw new InvalidOperationException(
                $"This instance cannot decrypt the Data Protection key check '{connection.Names.DataProtectionCanary}' that the first "
                + "instance sharing Pitchly's Redis store wrote, so it could read none of the stored tokens. The likely cause is a "
                + "different Data Protection application name (services.AddDataProtection().SetApplicationName(...)) or key ring "
                + "(PersistKeysTo...) than the other instances. Give every instance the same ones. If the key ring was replaced on "
                + "purpose, delete that Redis key (and the records written with the former keys); for a single instance in "
                + "development, set Pitchly:Redis:AllowUnsharedDataProtectionKeys to true.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// The token exchange's built-in limits, on ASP.NET Core's rate limiting primitives: a fixed window per client address
/// (checked before the body is read) and one per organization (checked before Pitchly is asked). Idle partitions are
/// dropped by the partitioned limiter, so unknown addresses and ids do not accumulate.
/// </summary>
internal sealed class TokenExchangeRateLimiter : IDisposable
{
    private readonly IOptionsMonitor<PitchlyTokenExchangeOptions> _options;
    private readonly PartitionedRateLimiter<string> _perClientAddress;
    private readonly PartitionedRateLimiter<string> _perOrganization;

    public TokenExchangeRateLimiter(IOptionsMonitor<PitchlyTokenExchangeOptions> options)
    {
        _options = options;
        _perClientAddress = Create(static options => options.PermitsPerClientAddress);
        _perOrganization = Create(static options => options.PermitsPerOrganization);
    }

    /// <summary>Takes a permit for <paramref name="clientAddress"/>; <see langword="null"/> when granted, else the time to wait.</summary>
    public TimeSpan? TryAcquireForClientAddress(string clientAddress)
        => _options.CurrentValue.PermitsPerClientAddress == 0 ? null : TryAcquire(_perClientAddress, clientAddress);

    /// <summary>Takes a permit for <paramref name="organizationId"/>; <see langword="null"/> when granted, else the time to wait.</summary>
    public TimeSpan? TryAcquireForOrganization(string organizationId)
        => _options.CurrentValue.PermitsPerOrganization == 0 ? null : TryAcquire(_perOrganization, organizationId);

    public void Dispose()
    {
        _perClientAddress.Dispose();
        _perOrganization.Dispose();
    }

    private static TimeSpan? TryAcquire(PartitionedRateLimiter<string> limiter, string partition)
    {
        using var lease = limiter.AttemptAcquire(partition);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
    }

    private PartitionedRateLimiter<string> Create(Func<PitchlyTokenExchangeOptions, int> permits) =>
        PartitionedRateLimiter.Create<string, string>(partition =>
        {
            // Read when a partition is created, so changed options apply from the next window of each partition.
            var options = _options.CurrentValue;
            var limit = Math.Max(1, permits(options));
            return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = limit,
                Window = options.RateLimitWindow,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
}

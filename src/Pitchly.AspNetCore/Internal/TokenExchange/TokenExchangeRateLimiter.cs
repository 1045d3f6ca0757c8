using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// The token exchange's built-in limits, on ASP.NET Core's rate limiting primitives: a fixed window per client address
/// (IPv4 per address, IPv6 per /64; checked before the body is read), one per organization, charged only to the
/// organization Pitchly confirmed for issued tokens (so a claim in a request body cannot spend another organization's
/// budget), and a bound on the exchanges in flight at once. Idle partitions are dropped by the partitioned limiter, so
/// unknown addresses and ids do not accumulate.
/// </summary>
internal sealed class TokenExchangeRateLimiter : IDisposable
{
    private readonly IOptionsMonitor<PitchlyTokenExchangeOptions> _options;
    private readonly PartitionedRateLimiter<string> _perClientAddress;
    private readonly PartitionedRateLimiter<string> _perOrganization;
    private int _inFlight;

    public TokenExchangeRateLimiter(IOptionsMonitor<PitchlyTokenExchangeOptions> options)
    {
        _options = options;
        _perClientAddress = Create(static options => options.PermitsPerClientAddress);
        _perOrganization = Create(static options => options.PermitsPerOrganization);
    }

    /// <summary>
    /// The partition a client address counts in: an IPv4 address (also when it arrives IPv4-mapped on a dual-stack
    /// socket) on its own, an IPv6 address by its /64 network, since one subscriber usually holds a whole /64.
    /// </summary>
    public static string ClientPartition(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>Takes a permit for <paramref name="clientPartition"/>; <see langword="null"/> when granted, else the time to wait.</summary>
    public TimeSpan? TryAcquireForClientAddress(string clientPartition)
        => _options.CurrentValue.PermitsPerClientAddress == 0 ? null : TryAcquire(_perClientAddress, clientPartition, permits: 1);

    /// <summary>
    /// Whether <paramref name="organizationId"/> has budget left, without taking any: <see langword="null"/> when it has,
    /// else the time to wait. Asked before Pitchly is, with the organization the browser claims.
    /// </summary>
    public TimeSpan? CheckOrganization(string organizationId)
        => _options.CurrentValue.PermitsPerOrganization == 0 ? null : TryAcquire(_perOrganization, organizationId, permits: 0);

    /// <summary>
    /// Charges one exchange to <paramref name="organizationId"/>, which Pitchly confirmed for the tokens it issued;
    /// <see langword="null"/> when within the budget, else the time to wait.
    /// </summary>
    public TimeSpan? ChargeOrganization(string organizationId)
        => _options.CurrentValue.PermitsPerOrganization == 0 ? null : TryAcquire(_perOrganization, organizationId, permits: 1);

    /// <summary>Enters the bound on exchanges in flight; <see langword="false"/> when it is full. Pair with <see cref="ExitExchange"/>.</summary>
    public bool TryEnterExchange()
    {
        var limit = _options.CurrentValue.MaxConcurrentExchanges;
        if (Interlocked.Increment(ref _inFlight) <= limit || limit == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    /// <summary>Leaves the bound entered with <see cref="TryEnterExchange"/>.</summary>
    public void ExitExchange() => Interlocked.Decrement(ref _inFlight);

    public void Dispose()
    {
        _perClientAddress.Dispose();
        _perOrganization.Dispose();
    }

    private static TimeSpan? TryAcquire(PartitionedRateLimiter<string> limiter, string partition, int permits)
    {
        // With 0 permits a fixed window only says whether any permit is left, and takes none.
        using var lease = limiter.AttemptAcquire(partition, permits);
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

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The package's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> created through
/// <see cref="IMeterFactory"/> (so each service provider, and each test, observes only its own measurements).
/// </summary>
internal sealed class PitchlyMetrics
{
    public const string MeterName = "Pitchly.AspNetCore";
    public const string ActivitySourceName = "Pitchly.AspNetCore";

    /// <summary>Traces refreshes, lock waits and token requests.</summary>
    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    public PitchlyMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Refreshes = meter.CreateCounter<long>("pitchly.token.refreshes", description: "Token refreshes by outcome (refreshed, reused_newer, invalid_grant, failed).");
        RefreshDuration = meter.CreateHistogram<double>("pitchly.token.refresh.duration", unit: "ms", description: "Time from a refresh request to its outcome, lock wait included.");
        TokenRequests = meter.CreateCounter<long>("pitchly.token.requests", description: "Requests sent to Pitchly's token endpoint by grant type and outcome.");
        LockWait = meter.CreateHistogram<double>("pitchly.lock.wait", unit: "ms", description: "Time spent waiting for the distributed refresh lock.");
        LockLost = meter.CreateCounter<long>("pitchly.lock.lost", description: "Refresh locks lost while held (lease expired or taken).");
        CompareAndSwapConflicts = meter.CreateCounter<long>("pitchly.store.cas_conflicts", description: "Compare-and-swap writes rejected because the record had moved on.");
        InvalidTokenRetries = meter.CreateCounter<long>("pitchly.http.invalid_token_retries", description: "Requests replayed once after Pitchly answered that the token was invalid.");
        FenceWaits = meter.CreateCounter<long>("pitchly.token.fence_waits", description: "Refreshes that found another owner's refresh in flight and waited for its tokens instead of presenting the same refresh token.");
        RefreshesPaused = meter.CreateCounter<long>("pitchly.token.refreshes_paused", description: "Calls failed fast because a key's freshly issued tokens kept being rejected.");
        StoreUnavailable = meter.CreateCounter<long>("pitchly.store.unavailable", description: "Operations failed because the shared token store or lock could not be reached.");
    }

    public Counter<long> Refreshes { get; }

    public Histogram<double> RefreshDuration { get; }

    public Counter<long> TokenRequests { get; }

    public Histogram<double> LockWait { get; }

    public Counter<long> LockLost { get; }

    public Counter<long> CompareAndSwapConflicts { get; }

    public Counter<long> InvalidTokenRetries { get; }

    public Counter<long> StoreUnavailable { get; }

    public Counter<long> FenceWaits { get; }

    public Counter<long> RefreshesPaused { get; }
}

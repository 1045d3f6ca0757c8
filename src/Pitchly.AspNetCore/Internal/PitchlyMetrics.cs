using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The package's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> created through
/// <see cref="IMeterFactory"/> (so each service provider, and each test, observes only its own measurements).
/// </summary>
/// <remarks>
/// This file owns the telemetry vocabulary (instrument, span and attribute names, units), following OpenTelemetry's
/// naming rules: dotted lower-case names under the <c>pitchly.</c> namespace, UCUM units (<c>ms</c>, <c>{refresh}</c>),
/// attributes in the <c>pitchly.</c> namespace and <c>error.type</c> on failures. Measurements and spans recorded with
/// older names (<c>outcome</c>, <c>oauth.grant_type</c>, the span <c>pitchly.lock.acquire</c>) are translated here, so
/// every exporter sees one vocabulary; <c>docs/telemetry.md</c> documents it and tests pin it.
/// </remarks>
internal sealed class PitchlyMetrics
{
    public const string MeterName = PitchlyTelemetry.MeterName;
    public const string ActivitySourceName = PitchlyTelemetry.ActivitySourceName;

    /// <summary>What happened (<c>refreshed</c>, <c>reused_newer</c>, <c>success</c>, <c>acquired</c>, or a failure).</summary>
    public const string OutcomeTag = "pitchly.outcome";

    /// <summary>The OAuth grant of a token request (<c>refresh_token</c>, <c>client_credentials</c>, …).</summary>
    public const string GrantTypeTag = "pitchly.oauth.grant_type";

    /// <summary>Whose tokens: <c>User</c> or <c>Install</c>.</summary>
    public const string TokenKindTag = "pitchly.token.kind";

    /// <summary>Why a call waited for a refresh: <c>renewal</c>, <c>missing</c> (no tokens stored yet) or <c>rejected</c>.</summary>
    public const string RefreshReasonTag = "pitchly.token.refresh.reason";

    /// <summary>OpenTelemetry's <c>error.type</c>: set, to the outcome, only when the outcome is a failure.</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>The span of one shared refresh (lock wait, re-read, token request, store write).</summary>
    public const string RefreshSpan = "Pitchly token refresh";

    /// <summary>The span of a wait for the distributed refresh lock.</summary>
    public const string LockWaitSpan = "Pitchly refresh lock wait";

    /// <summary>The span of one request to Pitchly's token endpoint.</summary>
    public const string TokenRequestSpan = "Pitchly token request";

    private static readonly HashSet<string> SuccessfulOutcomes = new(StringComparer.Ordinal) { "refreshed", "reused_newer", "acquired", "fenced", "deferred", "fence_lapsed", "success", "held" };

    // Bucket boundaries for millisecond durations: a refresh or lock wait takes from a few milliseconds to the timeouts.
    private static readonly InstrumentAdvice<double> MillisecondBuckets = new()
    {
        HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000],
    };

    /// <summary>Traces refreshes, lock waits and token requests.</summary>
    public static readonly Tracing ActivitySource = new(new ActivitySource(ActivitySourceName));

    public PitchlyMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        Refreshes = new(meter.CreateCounter<long>(
            "pitchly.token.refreshes", unit: "{refresh}",
            description: "Shared token refreshes by outcome (refreshed, reused_newer, acquired, invalid_grant, failed) and token kind."));
        RefreshDuration = new(meter.CreateHistogram(
            "pitchly.token.refresh.duration", unit: "ms",
            description: "Time from the start of a shared refresh to its outcome, lock wait included.", tags: null, advice: MillisecondBuckets));
        RefreshWaitTime = new(meter.CreateHistogram(
            "pitchly.token.refresh.wait_time", unit: "ms",
            description: "Time a call waited for a shared refresh of its key's tokens (renewal, missing tokens, or a token Pitchly rejected), recorded in the waiting call's context.", tags: null, advice: MillisecondBuckets));
        TokenRequests = new(meter.CreateCounter<long>(
            "pitchly.token.requests", unit: "{request}",
            description: "Requests sent to Pitchly's token endpoint, by grant type and outcome."));
        LockWait = new(meter.CreateHistogram(
            "pitchly.lock.wait_time", unit: "ms",
            description: "Time spent waiting for the distributed refresh lock, by outcome (acquired, held, reused_newer, timeout).", tags: null, advice: MillisecondBuckets));
        LockLost = new(meter.CreateCounter<long>(
            "pitchly.lock.lost", unit: "{lock}",
            description: "Refresh locks lost while held (lease not renewed in time, or taken)."));
        CompareAndSwapConflicts = new(meter.CreateCounter<long>(
            "pitchly.store.cas_conflicts", unit: "{conflict}",
            description: "Compare-and-swap writes rejected because the record had moved on."));
        InvalidTokenRetries = new(meter.CreateCounter<long>(
            "pitchly.http.invalid_token_retries", unit: "{retry}",
            description: "Requests replayed after Pitchly answered that their token was invalid."));
        FenceWaits = new(meter.CreateCounter<long>(
            "pitchly.token.fence_waits", unit: "{wait}",
            description: "Refreshes that found another owner's refresh in flight and waited for its tokens instead of presenting the same refresh token."));
        RefreshesPaused = new(meter.CreateCounter<long>(
            "pitchly.token.refreshes_paused", unit: "{call}",
            description: "Calls failed fast because a key's freshly issued tokens kept being rejected."));
        StoreUnavailable = new(meter.CreateCounter<long>(
            "pitchly.store.unavailable", unit: "{operation}",
            description: "Operations failed because the shared token store or lock could not be reached."));
        UnacknowledgedWrites = new(meter.CreateCounter<long>(
            "pitchly.store.unacknowledged_writes", unit: "{write}",
            description: "Writes of tokens that no replica of the Redis primary acknowledged in time (unacknowledged) or that a failover lost (lost)."));
        SubscriptionReconnects = meter.CreateCounter<long>("pitchly.subscription.reconnects", unit: "{reconnect}", description: "Attempts to re-establish a lost subscription connection, by reason (connection_lost, connection_failed, connection_timeout, server_closed, token_unavailable).");
        SubscriptionResubscribes = meter.CreateCounter<long>("pitchly.subscription.resubscribes", unit: "{subscription}", description: "Subscriptions subscribed again with a refreshed token after Pitchly rejected the previous one.");
        CacheHits = meter.CreateCounter<long>("pitchly.store.cache.hits", unit: "{read}", description: "Token store reads answered from the in-process cache (L1) of the Redis store, without a round trip.");
        CacheMisses = meter.CreateCounter<long>("pitchly.store.cache.misses", unit: "{read}", description: "Token store reads the in-process cache (L1) of the Redis store could not answer (absent, unconfirmed, expired or announcements unreliable), each followed by one Redis read.");
        CacheEvictions = meter.CreateCounter<long>("pitchly.store.cache.evictions", unit: "{record}", description: "Records the in-process cache (L1) of the Redis store evicted to stay within L1MaxBytes and L1MaxEntries (not counting invalidations by announcements or expiry).");
        ActiveSubscriptions = meter.CreateUpDownCounter<long>("pitchly.subscription.active", unit: "{subscription}", description: "Subscriptions currently running.");
    }

    public Counter Refreshes { get; }

    public Histogram RefreshDuration { get; }

    /// <summary>Time each call waited for a shared refresh, by <see cref="RefreshReasonTag"/> and token kind.</summary>
    public Histogram RefreshWaitTime { get; }

    public Counter TokenRequests { get; }

    public Histogram LockWait { get; }

    public Counter LockLost { get; }

    public Counter CompareAndSwapConflicts { get; }

    public Counter InvalidTokenRetries { get; }

    public Counter FenceWaits { get; }

    public Counter RefreshesPaused { get; }

    public Counter StoreUnavailable { get; }

    /// <summary>Token writes no Redis replica acknowledged in time, by outcome (<c>unacknowledged</c>, <c>lost</c>).</summary>
    public Counter UnacknowledgedWrites { get; }

    public Counter<long> SubscriptionReconnects { get; }

    public Counter<long> SubscriptionResubscribes { get; }

    public UpDownCounter<long> ActiveSubscriptions { get; }

    /// <summary>Reads the Redis store's L1 answered.</summary>
    public Counter<long> CacheHits { get; }

    /// <summary>Reads the Redis store's L1 could not answer.</summary>
    public Counter<long> CacheMisses { get; }

    /// <summary>Records the Redis store's L1 evicted for room.</summary>
    public Counter<long> CacheEvictions { get; }

    /// <summary>Copies <paramref name="tags"/> under this file's attribute names, adding <c>error.type</c> to failures.</summary>
    internal static TagList Translate(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var translated = default(TagList);
        foreach (var tag in tags)
        {
            var name = tag.Key switch
            {
                "outcome" => OutcomeTag,
                "oauth.grant_type" => GrantTypeTag,
                _ => tag.Key,
            };
            translated.Add(name, tag.Value);
            if (name == OutcomeTag && tag.Value is string outcome && !SuccessfulOutcomes.Contains(outcome))
            {
                translated.Add(ErrorTypeTag, outcome);
            }
        }

        return translated;
    }

    private static TagList Translate(in TagList tags)
    {
        Span<KeyValuePair<string, object?>> copy = new KeyValuePair<string, object?>[tags.Count];
        tags.CopyTo(copy);
        return Translate(copy);
    }

    /// <summary>A counter whose tags are recorded under this file's attribute names.</summary>
    internal sealed class Counter(Counter<long> instrument)
    {
        public Counter<long> Instrument => instrument;

        public void Add(long delta) => instrument.Add(delta);

        public void Add(long delta, KeyValuePair<string, object?> tag) => RecordSpan(delta, [tag]);

        public void Add(long delta, KeyValuePair<string, object?> tag1, KeyValuePair<string, object?> tag2) => RecordSpan(delta, [tag1, tag2]);

        public void Add(long delta, in TagList tags)
        {
            if (instrument.Enabled)
            {
                instrument.Add(delta, Translate(in tags));
            }
        }

        private void RecordSpan(long delta, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (instrument.Enabled)
            {
                instrument.Add(delta, Translate(tags));
            }
        }
    }

    /// <summary>A histogram whose tags are recorded under this file's attribute names.</summary>
    internal sealed class Histogram(Histogram<double> instrument)
    {
        public Histogram<double> Instrument => instrument;

        public void Record(double value) => instrument.Record(value);

        public void Record(double value, KeyValuePair<string, object?> tag) => RecordSpan(value, [tag]);

        public void Record(double value, in TagList tags)
        {
            if (instrument.Enabled)
            {
                instrument.Record(value, Translate(in tags));
            }
        }

        private void RecordSpan(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (instrument.Enabled)
            {
                instrument.Record(value, Translate(tags));
            }
        }
    }

    /// <summary>The activity source, starting spans under this file's span names.</summary>
    internal sealed class Tracing(ActivitySource source)
    {
        public ActivitySource Source => source;

        public Activity? StartActivity(string name) => source.StartActivity(Rename(name));

        public Activity? StartActivity(string name, ActivityKind kind, ActivityContext parentContext, IEnumerable<ActivityLink>? links = null)
            => source.StartActivity(Rename(name), kind, parentContext, tags: null, links: links);

        private static string Rename(string name) => name switch
        {
            "pitchly.lock.acquire" => LockWaitSpan,
            _ => name,
        };
    }
}

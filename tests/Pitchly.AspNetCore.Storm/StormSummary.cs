namespace Pitchly.AspNetCore.Storm;

/// <summary>The summary the harness prints, one <c>name: value</c> line each, and its parser for tests.</summary>
public static class StormSummary
{
    /// <summary>
    /// Formats the summary. <c>rotations</c> is counted on the client side, independently of the emulator's counters:
    /// per user, the distinct access tokens that successful calls used (plus the one sign-in stored), minus that first
    /// one. Each is a token generation the farm had to move to because the previous one expired or was invalidated.
    /// A refresh whose tokens no call ever used (a wasted, doubled refresh) shows as <c>refresh_grants</c> above
    /// <c>rotations</c>; a refresh token spent twice shows in <c>refresh_token_reuse</c>. With early invalidation, a
    /// token Pitchly kills before any call used it is a grant no client sees: <c>invalidated_before_first_use</c> counts
    /// those. A renewal early in its window runs beside the call that started it, so each user's latest token may also
    /// go unseen if no call of that user came after it: <c>refresh_grants</c> should not exceed <c>rotations</c> plus
    /// <c>invalidated_before_first_use</c> plus <c>users</c>.
    /// </summary>
    public static string Format(int instances, int users, LoadResult result, EmulatorStats stats) =>
        Format(instances, users, result, stats, new StormRunFacts());

    /// <summary>
    /// Formats the summary with what the driver knows of the run besides the calls: the token endpoint's latency, the
    /// open-loop schedule (if any) and the CPU used. <c>refresh_added_p50_ms</c> / <c>_p99_ms</c> are the median and
    /// p99 latency of the calls that waited on a refresh (as the instances report it) minus the median latency of all
    /// calls: what waiting on a refresh cost a call beyond a typical call.
    /// </summary>
    public static string Format(int instances, int users, LoadResult result, EmulatorStats stats, StormRunFacts run)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(run);
        var text = new StringBuilder();
        Line("instances", instances);
        Line("users", users);
        Line("requests", result.Requests);
        Line("failed_requests", result.FailedRequests);
        Line("rotations", result.ObservedRotations);
        Line("refresh_grants", stats.RefreshGrants);
        Line("refresh_token_reuse", stats.RefreshTokenReuse);
        Line("revoked_families", stats.RevokedFamilies);
        Line("early_invalidations", stats.EarlyInvalidations);
        Line("invalidated_before_first_use", stats.InvalidatedBeforeFirstUse);
        Line("p50_ms", result.Latency.Percentile(50));
        Line("p99_ms", result.Latency.Percentile(99));
        Line("refresh_wait_p99_ms", result.RefreshWaitLatency.Percentile(99));
        var median = result.Latency.Percentile(50);
        var waited = result.RefreshWaitLatency;
        Line("token_latency_ms", run.TokenLatency.TotalMilliseconds);
        Line("token_request_p50_ms", run.TokenRequests.Percentile(50));
        Line("token_request_p99_ms", run.TokenRequests.Percentile(99));
        Line("refresh_waited_requests", waited.Count);
        Line("refresh_added_p50_ms", waited.Count == 0 ? 0 : waited.Percentile(50) - median);
        Line("refresh_added_p99_ms", waited.Count == 0 ? 0 : waited.Percentile(99) - median);
        Line("refresh_wait_in_instance_p99_ms", result.RefreshWaitInInstance.Percentile(99));
        Line("rate_target", run.Schedule?.TargetRate ?? 0.0);
        Line("rate_achieved", run.Schedule?.AchievedRate ?? (run.LoadElapsed > TimeSpan.Zero ? result.Requests / run.LoadElapsed.TotalSeconds : 0.0));
        Line("late_starts", run.Schedule?.LateStarts ?? 0);
        Line("start_lag_p99_ms", run.Schedule?.StartLag.Percentile(99) ?? 0.0);
        Line("failovers", run.Failovers);
        Line("cpu_percent", run.CpuPercent);
        Line("machine_cpu_percent", run.MachineCpuPercent);
        return text.ToString();

        void Line(string name, IFormattable value) =>
            text.Append(name).Append(": ").Append(value.ToString(value is double ? "0.0" : null, CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>Reads the <c>name: value</c> lines of a summary out of a harness's whole output.</summary>
    public static IReadOnlyDictionary<string, double> Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0 && Names.Contains(line[..colon])
                && double.TryParse(line[(colon + 2)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..colon]] = value;
            }
        }

        return values;
    }

    /// <summary>Gets the names of the summary's lines, in order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [
            "instances", "users", "requests", "failed_requests", "rotations", "refresh_grants", "refresh_token_reuse",
            "revoked_families", "early_invalidations", "invalidated_before_first_use", "p50_ms", "p99_ms",
            "refresh_wait_p99_ms",
            "token_latency_ms", "token_request_p50_ms", "token_request_p99_ms", "refresh_waited_requests", "refresh_added_p50_ms", "refresh_added_p99_ms",
            "refresh_wait_in_instance_p99_ms", "rate_target", "rate_achieved", "late_starts", "start_lag_p99_ms",
            "failovers", "cpu_percent", "machine_cpu_percent",
        ];
}

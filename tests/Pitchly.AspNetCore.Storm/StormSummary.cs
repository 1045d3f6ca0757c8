using System.Globalization;
using System.Text;
using Pitchly.AspNetCore.Storm.Farm;

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
    /// those, so <c>refresh_grants</c> should not exceed <c>rotations</c> plus that count.
    /// </summary>
    public static string Format(int instances, int users, LoadResult result, EmulatorStats stats)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(stats);
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
        ];
}

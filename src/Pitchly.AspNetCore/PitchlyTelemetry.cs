namespace Pitchly.AspNetCore;

/// <summary>
/// The names to subscribe to with OpenTelemetry (or any <see cref="System.Diagnostics.Metrics.MeterListener"/> /
/// <see cref="System.Diagnostics.ActivityListener"/>): every package of Pitchly.AspNetCore reports on one meter and one
/// activity source. The instruments, their units and tags are listed in <c>docs/telemetry.md</c>.
/// </summary>
/// <example>
/// <code>
/// builder.Services.AddOpenTelemetry()
///     .WithMetrics(metrics => metrics.AddMeter(PitchlyTelemetry.MeterName))
///     .WithTracing(tracing => tracing.AddSource(PitchlyTelemetry.ActivitySourceName));
/// </code>
/// </example>
public static class PitchlyTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of all instruments: <c>Pitchly.AspNetCore</c>.</summary>
    public const string MeterName = "Pitchly.AspNetCore";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of all spans: <c>Pitchly.AspNetCore</c>.</summary>
    public const string ActivitySourceName = "Pitchly.AspNetCore";
}

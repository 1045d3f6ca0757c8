namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>An instance's clock: the farm's time plus a fixed skew of its wall clock; timers and timestamps are the farm's.</summary>
internal sealed class SkewedTimeProvider(TimeProvider inner, TimeSpan skew) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + skew;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        => inner.CreateTimer(callback, state, dueTime, period);
}

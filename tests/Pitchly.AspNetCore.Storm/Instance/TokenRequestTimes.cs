namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// Collects how long this instance's requests to the token endpoint took, from the package's
/// <c>Pitchly token request</c> spans: the token endpoint's own latency plus the HTTP round trip on this machine, which
/// is what a call waiting on a refresh pays at least. The driver drains them through
/// <see cref="Farm.StormHeaders.TokenRequestsPath"/>.
/// </summary>
internal sealed class TokenRequestTimes : IDisposable
{
    private const string TokenRequestSpan = "Pitchly token request";
    private readonly ActivityListener _listener;
    private readonly Lock _gate = new();
    private List<double> _milliseconds = [];

    public TokenRequestTimes()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PitchlyTelemetry.ActivitySourceName,
            // Only the token request spans are created; the others stay unsampled and cost nothing.
            Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Name == TokenRequestSpan ? ActivitySamplingResult.AllData : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.DisplayName == TokenRequestSpan)
                {
                    lock (_gate)
                    {
                        _milliseconds.Add(activity.Duration.TotalMilliseconds);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Returns the durations collected since the last call, and forgets them.</summary>
    public IReadOnlyList<double> Drain()
    {
        lock (_gate)
        {
            var drained = _milliseconds;
            _milliseconds = [];
            return drained;
        }
    }

    public void Dispose() => _listener.Dispose();
}

using System.Diagnostics.Metrics;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// Listens to the token manager's <c>pitchly.token.refresh.wait_time</c>, which it records in the context of each call
/// that waited for a shared refresh (a renewal, missing tokens, or a token Pitchly rejected, waited on in this instance
/// or at another instance's fence), and marks that call's <see cref="WorkProbe"/>: exactly the calls the package held.
/// </summary>
internal sealed class RefreshWaitListener : IDisposable
{
    private const string InstrumentName = "pitchly.token.refresh.wait_time";
    private readonly MeterListener _listener = new();

    public RefreshWaitListener()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PitchlyTelemetry.MeterName && instrument.Name == InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        // Called synchronously where the measurement is recorded: in the waiting call's ExecutionContext.
        _listener.SetMeasurementEventCallback<double>(static (_, milliseconds, _, _) => WorkProbe.Current?.OnRefreshWait(milliseconds));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();
}

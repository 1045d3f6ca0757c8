namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// A periodic sweep of idle per-key state that starts with the first state to sweep (<see cref="Start"/>), so none runs
/// while there is nothing to forget, and stops for good on <see cref="Dispose"/>. The sweep runs on the timer, never on
/// a request path; <see cref="Start"/> costs one volatile read once the timer runs.
/// </summary>
internal sealed class LazySweepTimer : IDisposable
{
    private readonly TimeProvider _timeProvider;
    private readonly Action _sweep;
    private readonly Func<TimeSpan> _period;
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private bool _disposed;

    /// <param name="timeProvider">The clock the timer runs on.</param>
    /// <param name="sweep">The sweep; it must not throw.</param>
    /// <param name="period">The pause between two sweeps, read when the timer starts.</param>
    public LazySweepTimer(TimeProvider timeProvider, Action sweep, Func<TimeSpan> period)
    {
        _timeProvider = timeProvider;
        _sweep = sweep;
        _period = period;
    }

    /// <summary>Gets a value indicating whether the timer runs (for tests).</summary>
    public bool Running => Volatile.Read(ref _timer) is not null;

    /// <summary>Starts the timer unless it runs already or was disposed.</summary>
    public void Start()
    {
        if (Volatile.Read(ref _timer) is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_timer is null && !_disposed)
            {
                var period = _period();
                Volatile.Write(ref _timer, _timeProvider.CreateTimer(static state => ((LazySweepTimer)state!)._sweep(), this, period, period));
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }
}

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// The farm's clock: time moves only when the model's clock task advances it, and timers fire only then, on that
/// task, in order of due time and, for equal due times, of creation. Unlike FakeTimeProvider it never fires a timer
/// from a read of the time (which may come from a thread Coyote does not control), never sleeps, breaks ties between
/// timers deterministically (FakeTimeProvider picks from a hash set of timers hashed by identity, which differs between
/// runs, so a seed would not replay), and tells when the next timer is due, so the clock can skip dead time.
/// </summary>
internal sealed class ModelTimeProvider(DateTimeOffset start) : TimeProvider
{
    // A real lock, not a Monitor: the test assembly's locks are rewritten into Coyote's, which only controlled threads
    // may take, and the time is also read from the BCL's own continuations. No scheduling point lies inside.
    private readonly Lock _gate = new();
    private readonly SortedSet<Entry> _due = new(EntryOrder.Instance);
    private long _now = start.UtcTicks;
    private long _sequence;

    public override DateTimeOffset GetUtcNow() => new(Volatile.Read(ref _now), TimeSpan.Zero);

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ModelTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>The earliest due time of a pending timer; <see langword="null"/> when none is pending.</summary>
    public DateTimeOffset? NextDue()
    {
        lock (_gate)
        {
            return _due.Count == 0 ? null : new DateTimeOffset(_due.Min!.Due, TimeSpan.Zero);
        }
    }

    /// <summary>Moves the time forward by <paramref name="delta"/>, firing each timer due by then at its due time.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        var target = Volatile.Read(ref _now) + delta.Ticks;
        while (true)
        {
            Entry next;
            lock (_gate)
            {
                if (_due.Count == 0 || _due.Min!.Due > target)
                {
                    break;
                }

                next = _due.Min;
                _due.Remove(next);
                next.Timer.Scheduled = null;
                if (next.Due > _now)
                {
                    Volatile.Write(ref _now, next.Due);
                }

                if (next.Timer.Period > 0)
                {
                    next.Timer.Scheduled = new Entry(next.Due + next.Timer.Period, ++_sequence, next.Timer);
                    _due.Add(next.Timer.Scheduled);
                }
            }

            next.Timer.Fire();
        }

        lock (_gate)
        {
            if (target > _now)
            {
                Volatile.Write(ref _now, target);
            }
        }
    }

    private void Schedule(ModelTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            if (timer.Scheduled is { } scheduled)
            {
                _due.Remove(scheduled);
                timer.Scheduled = null;
            }

            timer.Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            if (dueTime != Timeout.InfiniteTimeSpan && !timer.Disposed)
            {
                // A timer due now fires at the clock's next step, as a real one fires on another thread soon after.
                timer.Scheduled = new Entry(_now + Math.Max(0, dueTime.Ticks), ++_sequence, timer);
                _due.Add(timer.Scheduled);
            }
        }
    }

    private sealed record Entry(long Due, long Sequence, ModelTimer Timer);

    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
            => x!.Due != y!.Due ? x.Due.CompareTo(y.Due) : x.Sequence.CompareTo(y.Sequence);
    }

    private sealed class ModelTimer(ModelTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public Entry? Scheduled { get; set; }

        public long Period { get; set; }

        public bool Disposed { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (Disposed)
            {
                return false;
            }

            owner.Schedule(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            Disposed = true;
            owner.Schedule(this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

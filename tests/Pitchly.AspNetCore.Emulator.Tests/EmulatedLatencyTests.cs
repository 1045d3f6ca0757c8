using Microsoft.Extensions.Time.Testing;
using Pitchly.AspNetCore.Emulator.Internal.Endpoints;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class EmulatedLatencyTests
{
    [Fact]
    public async Task Wait_ends_only_once_the_whole_delay_has_passed_on_the_emulators_clock()
    {
        var time = new FakeTimeProvider();
        var delay = TimeSpan.FromMilliseconds(300);

        var wait = EmulatedLatency.WaitAsync(time, delay, Cancellation);
        time.Advance(delay - TimeSpan.FromMilliseconds(1));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        await wait.WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
    }

    [Fact]
    public async Task A_timer_that_fires_early_is_waited_out_rather_than_shortening_the_delay()
    {
        var time = new EarlyTimers(early: TimeSpan.FromMilliseconds(0.5));
        var delay = TimeSpan.FromMilliseconds(300);

        await EmulatedLatency.WaitAsync(time, delay, Cancellation).WaitAsync(TimeSpan.FromSeconds(10), Cancellation);

        Assert.True(time.Now >= delay, $"The wait ended after {time.Now}.");
        Assert.Equal(2, time.TimersCreated);
    }

    [Fact]
    public void No_delay_completes_at_once_without_a_timer()
    {
        var time = new EarlyTimers(early: TimeSpan.Zero);

        Assert.True(EmulatedLatency.WaitAsync(time, TimeSpan.Zero, Cancellation).IsCompletedSuccessfully);
        Assert.Equal(0, time.TimersCreated);
    }

    /// <summary>A clock whose one-shot timers fire as soon as they are made, <c>early</c> before their due time.</summary>
    private sealed class EarlyTimers(TimeSpan early) : TimeProvider
    {
        private long _ticks;
        private int _timersCreated;

        public TimeSpan Now => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public int TimersCreated => Volatile.Read(ref _timersCreated);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _timersCreated);
            var fireAfter = dueTime - early;
            Interlocked.Add(ref _ticks, Math.Max(fireAfter.Ticks, 1));
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}

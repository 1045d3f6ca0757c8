using Pitchly.AspNetCore.Internal.Replay;
using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.Internal;

/// <summary>
/// The rejected-token breaker's sweep replaces its map of per-key states by a right-sized copy once a quarter of the
/// peak or less is left, and keeps every state: one added, removed or still tracked while the swap runs.
/// </summary>
public sealed class RejectedTokenBreakerShrinkTests
{
    [Fact]
    public async Task A_map_the_sweep_finds_mostly_empty_is_replaced_and_keeps_every_tracked_key()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();
        var keys = Keys("psn", 2_000);
        foreach (var key in keys)
        {
            breaker.OnRejected(key, "t1");
        }

        // A sixth of the keys are rejected again later; the sweeps forget the others, then swap the map.
        var idle = RejectedTokenBreaker.IdleAfter + TimeSpan.FromSeconds(30);
        time.Advance(idle / 2);
        foreach (var key in keys[..300])
        {
            breaker.OnRejected(key, "t2");
        }

        time.Advance(idle / 2 + (RejectedTokenBreaker.IdleAfter / 3));

        Assert.Equal(300, breaker.TrackedKeys);
        Assert.Equal(1, breaker.Shrinker.Swaps);

        // Each kept state is found in the copy: a success drops it.
        foreach (var key in keys[..300])
        {
            breaker.OnSucceeded(key);
        }

        Assert.Equal(0, breaker.TrackedKeys);
    }

    [Fact]
    public async Task Rejections_and_successes_racing_with_the_swap_lose_no_state()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();
        for (var iteration = 0; iteration < 50; iteration++)
        {
            // 1,600 keys rejected, 1,300 succeed: 300 are left and the sweep (nothing idle yet) only swaps. While it does,
            // 100 of them succeed and 50 new keys are rejected.
            var keys = Keys($"psn_{iteration}", 1_600);
            var added = Keys($"psn_{iteration}_new", 50);
            foreach (var key in keys)
            {
                breaker.OnRejected(key, "t1");
            }

            foreach (var key in keys[300..])
            {
                breaker.OnSucceeded(key);
            }

            var swapsBefore = breaker.Shrinker.Swaps;
            using var start = new Barrier(3);
            await Task.WhenAll(
                Run(breaker.Sweep),
                Run(() => Array.ForEach(keys[..100], breaker.OnSucceeded)),
                Run(() => Array.ForEach(added, key => breaker.OnRejected(key, "t1"))));

            Assert.Equal(swapsBefore + 1, breaker.Shrinker.Swaps);
            Assert.Equal(250, breaker.TrackedKeys);
            foreach (var key in keys[100..300].Concat(added))
            {
                breaker.OnSucceeded(key);
            }

            Assert.Equal(0, breaker.TrackedKeys);

            Task Run(Action work) => StartTogether.Run(start, work, TestContext.Current.CancellationToken);
        }
    }

    private static PitchlyTokenKey[] Keys(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(user => PitchlyTokenKey.ForUser("org_1", $"{prefix}_{user}"))];

    private static ServiceProvider Create(FakePitchly pitchly, FakeTimeProvider time)
        => TestServices.Create(pitchly, time, _ => { }, o => o.RejectedTokenLimit = 5);
}

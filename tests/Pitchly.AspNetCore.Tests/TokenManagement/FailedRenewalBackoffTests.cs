using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// A renewal that fails with an error that may pass (a 5xx here) is not retried by every call of the window: calls use
/// the still-valid token and the key sends at most one grant per <c>FailedRenewalRetryInterval</c> until one succeeds,
/// while a rejected token is still refreshed at once.
/// </summary>
public sealed class FailedRenewalBackoffTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_a_failed_renewal_calls_in_the_window_use_the_valid_token_and_send_at_most_one_grant_per_interval()
    {
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o => o.RefreshBeforeExpiry = TimeSpan.FromMinutes(5));
        var (pitchly, time, _, stored, manager) = app;
        var backoff = ((PitchlyTokenManager)manager).Backoff;
        var signIn = pitchly.Emulator.GetStats().TokenRequests;
        pitchly.Emulator.Configure(o => { o.TokenEndpointFault = PitchlyEmulatorFault.ServerError; o.TokenEndpointFaultRate = 1; });

        // Early in the window (3 of 5 minutes left): the first call starts a renewal beside it, which fails.
        time.Advance(TimeSpan.FromMinutes(57));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(User, Cancel)).Value);
        await Eventually.HoldsAsync(() => backoff.TrackedKeys == 1, TimeSpan.FromSeconds(30), "the failed renewal is remembered");
        Assert.Equal(signIn + 1, pitchly.Emulator.GetStats().TokenRequests);

        // Many calls, early and late in the window, within one interval: the still-valid token, no other grant.
        await AssertCallsServeAsync(manager, stored.AccessToken, calls: 100);
        time.Advance(TimeSpan.FromSeconds(29));
        await AssertCallsServeAsync(manager, stored.AccessToken, calls: 100);
        Assert.Equal(signIn + 1, pitchly.Emulator.GetStats().TokenRequests);

        // Once the interval has passed, one call tries again (late in the window it waits, then falls back to the
        // token); again one grant for the whole interval.
        time.Advance(TimeSpan.FromMinutes(1));
        await AssertCallsServeAsync(manager, stored.AccessToken, calls: 1);
        await Eventually.HoldsAsync(() => pitchly.Emulator.GetStats().TokenRequests == signIn + 2, TimeSpan.FromSeconds(30), "the second grant is sent");
        await Eventually.HoldsAsync(() => backoff.IsBackingOff(User, time.GetUtcNow()), TimeSpan.FromSeconds(30), "the second failure is remembered");
        await AssertCallsServeAsync(manager, stored.AccessToken, calls: 100);
        Assert.Equal(signIn + 2, pitchly.Emulator.GetStats().TokenRequests);

        // The endpoint recovers: the next renewal after the interval succeeds and the key's entry goes.
        pitchly.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
        time.Advance(TimeSpan.FromSeconds(31));
        var renewed = await manager.GetAccessTokenAsync(User, Cancel);
        Assert.NotEqual(stored.AccessToken, renewed.Value);
        Assert.Equal(signIn + 3, pitchly.Emulator.GetStats().TokenRequests);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, backoff.TrackedKeys);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task A_rejected_token_is_refreshed_at_once_while_renewals_back_off()
    {
        await using var app = await TestServices.SignInAtEmulatorAsync(User, options: o => o.RefreshBeforeExpiry = TimeSpan.FromMinutes(5));
        var (pitchly, time, _, stored, manager) = app;
        var backoff = ((PitchlyTokenManager)manager).Backoff;
        var signIn = pitchly.Emulator.GetStats().TokenRequests;
        pitchly.Emulator.Configure(o => { o.TokenEndpointFault = PitchlyEmulatorFault.ServerError; o.TokenEndpointFaultRate = 1; });
        time.Advance(TimeSpan.FromMinutes(57));
        await manager.GetAccessTokenAsync(User, Cancel);
        await Eventually.HoldsAsync(() => backoff.TrackedKeys == 1, TimeSpan.FromSeconds(30), "the failed renewal is remembered");

        pitchly.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
        var refreshed = await manager.RefreshAsync(User, stored.AccessToken, Cancel);

        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        Assert.Equal(signIn + 2, pitchly.Emulator.GetStats().TokenRequests);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, backoff.TrackedKeys);
        Assert.Equal(refreshed.Value, (await manager.GetAccessTokenAsync(User, Cancel)).Value);
    }

    [Fact]
    public async Task A_key_backing_off_is_forgotten_by_the_sweep_once_its_interval_has_passed()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var options = new PitchlyTokenManagementOptions { FailedRenewalRetryInterval = TimeSpan.FromSeconds(30) };
        using var backoff = new RenewalBackoff(new StaticOptionsMonitor(options), time);
        for (var user = 0; user < 1000; user++)
        {
            backoff.Failed(PitchlyTokenKey.ForUser("org_1", $"psn_{user}"));
        }

        Assert.Equal(1000, backoff.TrackedKeys);
        Assert.True(backoff.IsBackingOff(PitchlyTokenKey.ForUser("org_1", "psn_7"), time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(15));
        backoff.Failed(User);
        time.Advance(TimeSpan.FromSeconds(15));

        // The timer swept the thousand keys whose interval passed; the one that failed later stays until its own has.
        Assert.Equal(1, backoff.TrackedKeys);
        Assert.False(backoff.IsBackingOff(PitchlyTokenKey.ForUser("org_1", "psn_7"), time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, backoff.TrackedKeys);
    }

    [Fact]
    public void A_map_the_sweep_finds_mostly_empty_is_replaced_and_keeps_every_key_backing_off()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var options = new PitchlyTokenManagementOptions { FailedRenewalRetryInterval = TimeSpan.FromSeconds(30) };
        using var backoff = new RenewalBackoff(new StaticOptionsMonitor(options), time);
        var keys = Enumerable.Range(0, 2_000).Select(user => PitchlyTokenKey.ForUser("org_1", $"psn_{user}")).ToArray();
        foreach (var key in keys)
        {
            backoff.Failed(key);
        }

        // A few keys fail again; the sweep then forgets the others and, with a sixth of the peak left, swaps the map.
        time.Advance(TimeSpan.FromSeconds(15));
        foreach (var key in keys[..300])
        {
            backoff.Failed(key);
        }

        time.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal(1, backoff.Shrinker.Swaps);
        Assert.Equal(300, backoff.TrackedKeys);
        Assert.All(keys[..300], key => Assert.True(backoff.IsBackingOff(key, time.GetUtcNow())));
        Assert.All(keys[300..], key => Assert.False(backoff.IsBackingOff(key, time.GetUtcNow())));
        backoff.Succeeded(keys[0]);
        Assert.Equal(299, backoff.TrackedKeys);
        Assert.False(backoff.IsBackingOff(keys[0], time.GetUtcNow()));
    }

    [Fact]
    public async Task Failures_successes_and_reads_racing_with_the_swap_lose_no_key_and_miss_none()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var options = new PitchlyTokenManagementOptions { FailedRenewalRetryInterval = TimeSpan.FromSeconds(30) };
        using var backoff = new RenewalBackoff(new StaticOptionsMonitor(options), time);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            // 1,600 keys back off, 1,300 succeed: 300 are left, and the sweep (no interval has passed) only swaps. While
            // it does, 100 of them succeed, 50 new keys fail, and two readers keep checking the other 200.
            var keys = Enumerable.Range(0, 1_600).Select(user => PitchlyTokenKey.ForUser("org_1", $"psn_{iteration}_{user}")).ToArray();
            var added = Enumerable.Range(0, 50).Select(user => PitchlyTokenKey.ForUser("org_1", $"psn_{iteration}_new_{user}")).ToArray();
            foreach (var key in keys)
            {
                backoff.Failed(key);
            }

            foreach (var key in keys[300..])
            {
                backoff.Succeeded(key);
            }

            var now = time.GetUtcNow();
            var swapsBefore = backoff.Shrinker.Swaps;
            var misses = 0;
            var sweeping = 1;
            using var start = new Barrier(5);
            await Task.WhenAll(
                Run(() =>
                {
                    backoff.Sweep();
                    Volatile.Write(ref sweeping, 0);
                }),
                Run(() => Array.ForEach(keys[..100], backoff.Succeeded)),
                Run(() => Array.ForEach(added, backoff.Failed)),
                Run(() => Read(keys[100..300])),
                Run(() => Read(Enumerable.Reverse(keys[100..300]))));

            Assert.Equal(swapsBefore + 1, backoff.Shrinker.Swaps);
            Assert.Equal(0, misses);
            Assert.Equal(250, backoff.TrackedKeys);
            Assert.All(keys[..100], key => Assert.False(backoff.IsBackingOff(key, now)));
            Assert.All(keys[100..300].Concat(added), key => Assert.True(backoff.IsBackingOff(key, now)));
            foreach (var key in keys[100..300].Concat(added))
            {
                backoff.Succeeded(key);
            }

            Assert.Equal(0, backoff.TrackedKeys);

            void Read(IEnumerable<PitchlyTokenKey> kept)
            {
                do
                {
                    foreach (var key in kept)
                    {
                        if (!backoff.IsBackingOff(key, now))
                        {
                            Interlocked.Increment(ref misses);
                        }
                    }
                }
                while (Volatile.Read(ref sweeping) == 1);
            }

            Task Run(Action work) => StartTogether.Run(start, work, Cancel);
        }
    }

    [Fact]
    public void The_interval_must_be_positive()
    {
        var result = new ValidatePitchlyTokenManagementOptions().Validate(null, new PitchlyTokenManagementOptions
        {
            TokenEndpoint = "https://platform.pitchly.com/api/oauth/token",
            FailedRenewalRetryInterval = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        Assert.Contains("FailedRenewalRetryInterval", result.FailureMessage, StringComparison.Ordinal);
    }

    private static async Task AssertCallsServeAsync(IPitchlyTokenManager manager, string expected, int calls)
    {
        var tokens = await Task.WhenAll(Enumerable.Range(0, calls).Select(_ => manager.GetAccessTokenAsync(User, Cancel).AsTask()));
        Assert.All(tokens, token => Assert.Equal(expected, token.Value));
    }

    private sealed class StaticOptionsMonitor(PitchlyTokenManagementOptions value) : IOptionsMonitor<PitchlyTokenManagementOptions>
    {
        public PitchlyTokenManagementOptions CurrentValue => value;

        public PitchlyTokenManagementOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<PitchlyTokenManagementOptions, string?> listener) => null;
    }
}

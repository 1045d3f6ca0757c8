using System.Net;
using Pitchly.AspNetCore.Storm.Orchestration;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>
/// A lock holder that stalls longer than its lease — frozen by <c>SIGSTOP</c>, or cut off from Redis — while other
/// instances are asked for the same user. The lease lapses; what must still hold is that the refresh token is
/// presented once: no reuse, no revoked family, and the user stays signed in everywhere once the holder runs on.
/// </summary>
public sealed class LockHolderStallTests
{
    // Four lease lengths (1.5 s): whatever renews or expires the lock has long given up on the holder.
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(6);

    private static readonly StormFarmOptions Farm = FarmTest.LongLivedTokens;

    [Fact]
    public async Task Holder_frozen_past_its_lease_with_its_token_request_in_flight_causes_no_reuse_and_no_revoked_family_and_the_user_stays_signed_in_on_every_instance()
    {
        await FarmTest.RunAsync(Farm, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var user = (await farm.SignInAllAsync(ct))[0];
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);
            var holder = farm.Instances[0];

            // Pitchly applies the holder's grant after 3 s and answers a process that is frozen: the new tokens sit
            // unread in its socket.
            var holderCall = await StartRefreshInFlightAsync(farm, client, holder, user, before, holder.Freeze);
            var others = CallTheOthersTwice(farm, client, holder, user);
            await Task.Delay(Stall, ct);
            Assert.True(holder.IsFrozen, $"{holder} should still be stopped.");
            holder.Thaw();

            var after = await AssertNoReuseAndSignedInAfterStallAsync(farm, client, user, before, holderCall, others);

            // The holder's token request was the only one, and it was applied once.
            Assert.Equal(before.TokenRequests + 1, after.TokenRequests);
            Assert.Equal(before.RefreshGrants + 1, after.RefreshGrants);
        });
    }

    [Fact]
    public async Task Holder_frozen_after_writing_its_fence_and_before_sending_never_sends_after_the_resume_and_causes_no_reuse()
    {
        // A fence of 5 s whose owner may send only in its first 2 s (FenceTimeout − TokenRequestTimeout): the holder
        // stays frozen past the whole fence, so the others may claim the record and the holder's send window is over.
        var frozenFor = TimeSpan.FromSeconds(8);
        await FarmTest.RunAsync(FarmTest.WithShortFence(Farm) with { Instances = 2 }, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var user = (await farm.SignInAllAsync(ct))[0];

            // This instance stops itself (a real SIGSTOP) right after its first refresh fence is written to Redis: the
            // refresh token is claimed, the token manager's last check and the token request are still to come.
            var holder = await farm.StartInstanceAsync(new Dictionary<string, string> { [StormFreeze.AfterFenceKey] = "true" }, null, ct);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);

            await farm.Emulator.InvalidateAsync(user.PersonId, ct);
            var holderCall = client.WorkAsync(holder, user, ct);
            Assert.Equal(StormFreeze.AfterFence, await holder.Process.WaitForLineAsync(StormFreeze.FrozenPrefix, TimeSpan.FromSeconds(20), ct));
            await Eventually.HoldsAsync(() => Task.FromResult(holder.IsFrozen), TimeSpan.FromSeconds(10), $"{holder} to stop itself");
            var frozenAt = TimeProvider.System.GetTimestamp();
            var atFreeze = await farm.Emulator.GetStatsAsync(ct);
            Assert.True(before.TokenRequests == atFreeze.TokenRequests, $"{holder} sent a token request before it stopped at its fence: {atFreeze}");

            // The others are asked for the user while the holder is frozen; they end (served or not) on their own.
            var others = CallTheOthersTwice(farm, client, holder, user);
            var duringStall = await Task.WhenAll(others);
            var held = TimeProvider.System.GetElapsedTime(frozenAt);
            if (held < frozenFor)
            {
                await Task.Delay(frozenFor - held, ct);
            }

            Assert.True(holder.IsFrozen, $"{holder} should still be stopped.");
            var beforeResume = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"before the resume: {beforeResume}");
            // The others waited out the fence, then one of them claimed the record and refreshed once.
            Assert.Equal(before.TokenRequests + 1, beforeResume.TokenRequests);
            Assert.Equal(before.RefreshGrants + 1, beforeResume.RefreshGrants);
            holder.Thaw();
            var holderOutcome = await holderCall;

            // Whatever the holder does after the resume happens within its call; a short grace for a request in flight.
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            var afterResume = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"emulator: {afterResume}");
            TestContext.Current.TestOutputHelper?.WriteLine($"holder: {holderOutcome.Describe()}; others: {string.Join(", ", duringStall.Select(o => o.Describe()))}");
            AssertNoReuse(before, afterResume);
            Assert.True(
                beforeResume.TokenRequests == afterResume.TokenRequests,
                $"The holder sent {afterResume.TokenRequests - beforeResume.TokenRequests} token request(s) after it was resumed.");
            await AssertSignedInEverywhereAsync(farm, client, user);
            var after = await farm.Emulator.GetStatsAsync(ct);
            AssertNoReuse(before, after);
            Assert.All(duringStall.Append(holderOutcome), o => Assert.False(o.SignInRequired, $"{o.Describe()}: the user was signed out."));
        });
    }

    [Fact]
    public async Task Holder_whose_own_redis_connection_stalls_past_its_lease_with_its_token_request_in_flight_causes_no_reuse_and_the_user_stays_signed_in()
    {
        await FarmTest.RunAsync(Farm with { Instances = 2 }, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var user = (await farm.SignInAllAsync(ct))[0];
            await using var proxy = PausableTcpProxy.Start(new IPEndPoint(IPAddress.Loopback, farm.Redis!.Port));
            var holder = await farm.StartInstanceAsync(null, $"127.0.0.1:{proxy.Endpoint.Port}", ct);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            Assert.True(proxy.BytesForwarded > 0, "The holder should reach Redis through the proxy.");
            var before = await farm.Emulator.GetStatsAsync(ct);

            // The holder keeps running and gets Pitchly's answer, but can neither renew its lease nor store the tokens.
            var holderCall = await StartRefreshInFlightAsync(farm, client, holder, user, before, proxy.Pause);
            var others = CallTheOthersTwice(farm, client, holder, user);
            await Task.Delay(Stall, ct);
            proxy.Resume();

            await AssertNoReuseAndSignedInAfterStallAsync(farm, client, user, before, holderCall, others);
        });
    }

    [Fact]
    public async Task Holder_whose_own_redis_connection_stalls_right_after_Pitchly_answered_past_its_fence_causes_no_reuse_and_its_tokens_are_stored_over_the_claim()
    {
        // Tokens live 60 s, so a proactive renewal may start 30 s after sign-in and calls go on with the current token
        // until 45 s; a 10 s fence whose owner may send in its first 4 s.
        var options = Farm with
        {
            Instances = 2,
            TokenLifetime = TimeSpan.FromSeconds(60),
            InstanceConfiguration = new Dictionary<string, string>(Farm.InstanceConfiguration)
            {
                ["Pitchly:TokenManagement:FenceTimeout"] = "00:00:10",
                ["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:00:06",
            },
        };
        await FarmTest.RunAsync(options, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var user = (await farm.SignInAllAsync(ct))[0];
            await using var proxy = PausableTcpProxy.Start(new IPEndPoint(IPAddress.Loopback, farm.Redis!.Port));
            var holder = await farm.StartInstanceAsync(null, $"127.0.0.1:{proxy.Endpoint.Port}", ct);
            var signedIn = await FarmTest.CallEveryInstanceAsync(farm, client, user);
            Assert.All(signedIn, o => Assert.True(o.Succeeded, o.Describe()));
            var firstToken = signedIn[0].TokenFingerprint;
            var before = await farm.Emulator.GetStatsAsync(ct);
            var others = farm.Instances.Where(i => i != holder).ToList();

            // Pitchly applies the holder's renewal at once and holds its answer for 4 s. Only the holder is called until
            // the token enters its renewal window; the grant is seen in Pitchly's counters, and the holder's own Redis
            // connection is stalled then, before the answer reaches it.
            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "DelayAfterGrant", tokenEndpointFaultRate = 1.0, tokenEndpointFaultDelay = "00:00:04" }, ct);
            using (var granted = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var callingHolder = CallUntilCancelledAsync(client, holder, user, granted.Token);
                await WaitUntilAsync(async () => (await farm.Emulator.GetStatsAsync(ct)).RefreshGrants > before.RefreshGrants, TimeSpan.FromSeconds(90), "the holder's renewal to be granted");
                proxy.Pause();
                await granted.CancelAsync();
                Assert.All(await callingHolder, o => Assert.False(o.SignInRequired, $"holder before the stall: {o.Describe()}"));
            }

            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "None", tokenEndpointFaultRate = 0.0 }, ct);

            // The others are called for the user, still on the current token, until the holder's fence lapses and one of
            // them claims the record; the holder's connection stays stalled until then.
            var duringStall = new List<WorkOutcome>();
            await WaitUntilAsync(
                async () =>
                {
                    foreach (var other in others)
                    {
                        duringStall.Add(await client.WorkAsync(other, user, ct));
                    }

                    return others.Any(o => o.Process.Output.ToString().Contains(LapsedFenceClaimed, StringComparison.Ordinal))
                        || (await farm.Emulator.GetStatsAsync(ct)).RefreshTokenReuse > before.RefreshTokenReuse;
                },
                TimeSpan.FromSeconds(40),
                "another instance to claim the holder's lapsed fence");
            var atResume = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"at the resume: {atResume}; others: {duringStall.Count} calls, {string.Join(", ", duringStall.GroupBy(o => o.Describe()).Select(g => $"{g.Count()} × {g.Key}"))}");
            AssertNoReuse(before, atResume);
            Assert.All(duringStall, o => Assert.True(o.Succeeded, $"{o.Describe()} while the holder was stalled"));
            Assert.True(proxy.IsPaused);
            proxy.Resume();

            // The holder stores Pitchly's answer over the claimed record, and every instance serves the new token.
            await Eventually.HoldsAsync(
                () => Task.FromResult(holder.Process.Output.ToString().Contains(WroteOverFencedTokens, StringComparison.Ordinal)),
                TimeSpan.FromSeconds(60),
                "the holder to store its tokens over the claimed record");
            await Eventually.HoldsAsync(
                async () =>
                {
                    var outcomes = await FarmTest.CallEveryInstanceAsync(farm, client, user);
                    Assert.All(outcomes, o => Assert.False(o.SignInRequired, $"{o.Describe()}: the user was signed out."));
                    return outcomes.All(o => o.Succeeded && o.TokenFingerprint is not null && o.TokenFingerprint != firstToken);
                },
                TimeSpan.FromSeconds(30),
                "every instance to serve the holder's new token");
            var after = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine($"emulator: {after}");
            AssertNoReuse(before, after);
            Assert.Equal(before.RefreshGrants + 1, after.RefreshGrants);
        });
    }

    // Log lines (event ids) of the token manager: a claim over another owner's lapsed fence, and a write of refreshed
    // tokens over a version that moved on while still holding the spent refresh token.
    private const string LapsedFenceClaimed = "[2026]";
    private const string WroteOverFencedTokens = "[2029]";

    /// <summary>Calls <c>/work</c> on <paramref name="instance"/> every 200 ms until <paramref name="stop"/>; returns the outcomes.</summary>
    private static async Task<List<WorkOutcome>> CallUntilCancelledAsync(StormClient client, StormInstance instance, StormUser user, CancellationToken stop)
    {
        var outcomes = new List<WorkOutcome>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                outcomes.Add(await client.WorkAsync(instance, user, stop));
                await Task.Delay(200, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        return outcomes;
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms (an event, never a fixed sleep) until it holds.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < within, $"Waited {within.TotalSeconds:0} s for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Makes <paramref name="holder"/> refresh <paramref name="user"/>'s tokens with a token request that Pitchly holds
    /// for 3 s before applying the grant; once the request is in, runs <paramref name="stall"/> and turns the delay off
    /// for everyone else. Returns the holder's call.
    /// </summary>
    private static async Task<Task<WorkOutcome>> StartRefreshInFlightAsync(
        StormFarm farm, StormClient client, StormInstance holder, StormUser user, EmulatorStats before, Action stall)
    {
        var ct = TestContext.Current.CancellationToken;
        await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "Delay", tokenEndpointFaultRate = 1.0, tokenEndpointFaultDelay = "00:00:03" }, ct);
        await farm.Emulator.InvalidateAsync(user.PersonId, ct);
        var holderCall = client.WorkAsync(holder, user, ct);
        await Eventually.HoldsAsync(
            async () => (await farm.Emulator.GetStatsAsync(ct)).TokenRequests > before.TokenRequests,
            TimeSpan.FromSeconds(20),
            "the holder's refresh to reach the token endpoint");
        stall();
        await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "None", tokenEndpointFaultRate = 0.0 }, ct);
        return holderCall;
    }

    /// <summary>Starts two calls as <paramref name="user"/> on every instance but the holder.</summary>
    private static List<Task<WorkOutcome>> CallTheOthersTwice(StormFarm farm, StormClient client, StormInstance holder, StormUser user) =>
        farm.Instances
            .Where(i => i != holder)
            .SelectMany(i => new[] { client.WorkAsync(i, user, TestContext.Current.CancellationToken), client.WorkAsync(i, user, TestContext.Current.CancellationToken) })
            .ToList();

    private static void AssertNoReuse(EmulatorStats before, EmulatorStats after)
    {
        Assert.True(
            after.RefreshTokenReuse == before.RefreshTokenReuse && after.RevokedFamilies == before.RevokedFamilies,
            $"A refresh token was presented again: refresh_token_reuse +{after.RefreshTokenReuse - before.RefreshTokenReuse}, "
            + $"revoked_families +{after.RevokedFamilies - before.RevokedFamilies} (refresh_grants +{after.RefreshGrants - before.RefreshGrants}, "
            + $"token_requests +{after.TokenRequests - before.TokenRequests}).");
    }

    /// <summary>
    /// Once the stall is over: no refresh token was reused, neither while the others called nor after, nobody was
    /// signed out, and the user is served by every instance again; returns the emulator's counts by then.
    /// </summary>
    private static async Task<EmulatorStats> AssertNoReuseAndSignedInAfterStallAsync(
        StormFarm farm, StormClient client, StormUser user, EmulatorStats before, Task<WorkOutcome> holderCall, IEnumerable<Task<WorkOutcome>> others)
    {
        var ct = TestContext.Current.CancellationToken;
        var duringStall = await Task.WhenAll(others);
        var holderOutcome = await holderCall;
        var afterStall = await farm.Emulator.GetStatsAsync(ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"emulator: {afterStall}");
        TestContext.Current.TestOutputHelper?.WriteLine($"holder: {holderOutcome.Describe()}; others: {string.Join(", ", duringStall.Select(o => o.Describe()))}");
        AssertNoReuse(before, afterStall);
        await AssertSignedInEverywhereAsync(farm, client, user);
        var after = await farm.Emulator.GetStatsAsync(ct);
        AssertNoReuse(before, after);
        Assert.All(duringStall.Append(holderOutcome), o => Assert.False(o.SignInRequired, $"{o.Describe()}: the user was signed out."));
        return after;
    }

    // Perhaps after waiting: a refresh delayed by the stall is allowed, a sign-out is not.
    private static Task AssertSignedInEverywhereAsync(StormFarm farm, StormClient client, StormUser user) =>
        Eventually.HoldsAsync(
            async () =>
            {
                var outcomes = await FarmTest.CallEveryInstanceAsync(farm, client, user);
                Assert.All(outcomes, o => Assert.False(o.SignInRequired, $"{o.Describe()}: the user was signed out."));
                return outcomes.All(o => o.Succeeded);
            },
            TimeSpan.FromSeconds(40),
            $"{user} to be served by every instance");
}

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

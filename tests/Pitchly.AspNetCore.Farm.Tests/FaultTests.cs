namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>Faults injected into a running farm, each with the outcome the design promises.</summary>
public sealed class FaultTests
{
    private static readonly StormFarmOptions LongLivedTokens = FarmTest.LongLivedTokens with
    {
        InstanceConfiguration = new Dictionary<string, string>(FarmTest.LongLivedTokens.InstanceConfiguration)
        {
            // A short fence, so a holder that dies mid-request delays its user's next refresh by seconds, not minutes.
            ["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:00:07",
            ["Pitchly:TokenManagement:FenceTimeout"] = "00:00:10",
        },
    };

    [Fact]
    public async Task Instance_killed_mid_refresh_while_holding_the_lock_never_spends_the_refresh_token_and_another_instance_refreshes_once_after_its_fence_lapses()
    {
        await FarmTest.RunAsync(LongLivedTokens, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var users = await farm.SignInAllAsync(ct);
            var user = users[0];
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);

            // The emulator's Delay fault waits before applying the grant and gives up when the client goes away.
            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "Delay", tokenEndpointFaultRate = 1.0, tokenEndpointFaultDelay = "00:00:30" }, ct);
            await farm.Emulator.InvalidateAsync(user.PersonId, ct);
            var victim = farm.Instances[0];
            var doomed = client.WorkAsync(victim, user, ct);
            await Eventually.HoldsAsync(
                async () => (await farm.Emulator.GetStatsAsync(ct)).TokenRequests > before.TokenRequests,
                TimeSpan.FromSeconds(20),
                "the victim's refresh to reach the token endpoint");

            await farm.KillAsync(victim);
            Assert.False((await doomed).Succeeded);
            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "None", tokenEndpointFaultRate = 0.0 }, ct);

            // The survivors wait out the dead holder's fence (its lock was stretched over it), re-read the unchanged record
            // and spend its refresh token once: the dead holder's request never reached the grant.
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user, rounds: 2), o => Assert.True(o.Succeeded, o.Describe()));
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, users[1]), o => Assert.True(o.Succeeded, o.Describe()));
            var after = await farm.Emulator.GetStatsAsync(ct);
            Assert.Equal(0, after.RefreshTokenReuse);
            Assert.Equal(before.RefreshGrants + 1, after.RefreshGrants);
        });
    }

    [Fact]
    public async Task Token_endpoint_slower_than_the_lock_lease_keeps_one_holder_by_renewal_so_sixty_concurrent_calls_refresh_once_and_all_succeed()
    {
        await FarmTest.RunAsync(LongLivedTokens, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var user = (await farm.SignInAllAsync(ct))[0];
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);

            // 4 s per token request against a 1.5 s lease: only renewal keeps the holder's lock.
            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "Delay", tokenEndpointFaultRate = 1.0, tokenEndpointFaultDelay = "00:00:04" }, ct);
            await farm.Emulator.InvalidateAsync(user.PersonId, ct);
            var calls = farm.Instances.SelectMany(instance => Enumerable.Range(0, 20).Select(_ => client.WorkAsync(instance, user, ct)));
            var outcomes = await Task.WhenAll(calls);

            Assert.All(outcomes, o => Assert.True(o.Succeeded, o.Describe()));
            var after = await farm.Emulator.GetStatsAsync(ct);
            Assert.Equal(0, after.RefreshTokenReuse);
            Assert.Equal(before.TokenRequests + 1, after.TokenRequests);
            Assert.Equal(before.RefreshGrants + 1, after.RefreshGrants);
        });
    }

    [Fact]
    public async Task Token_response_lost_after_the_grant_asks_the_user_to_sign_in_again_with_one_detected_reuse_no_storm_and_a_working_new_sign_in()
    {
        await FarmTest.RunAsync(LongLivedTokens, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var users = await farm.SignInAllAsync(ct);
            var (user, bystander) = (users[0], users[1]);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);

            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "DropAfterGrant", tokenEndpointFaultRate = 1.0 }, ct);
            await farm.Emulator.InvalidateAsync(user.PersonId, ct);
            // Pitchly rotated the refresh token but the answer never arrived: the POST is not retried blindly.
            var lost = await client.WorkAsync(farm.Instances[0], user, ct);
            Assert.Equal("502 token-endpoint", lost.Describe());
            await farm.Emulator.ConfigureAsync(new { tokenEndpointFault = "None", tokenEndpointFaultRate = 0.0 }, ct);

            // The next refresh presents the spent token once; Pitchly refuses it and the record is removed, with it the
            // user's sessions: from then on every instance rejects the cookie (the user must sign in again) without
            // another token request.
            var afterLoss = await FarmTest.CallEveryInstanceAsync(farm, client, user, rounds: 3);
            Assert.Equal("401 sign-in-required", afterLoss[0].Describe());
            Assert.All(afterLoss.Skip(1), o => Assert.Equal("401 not-signed-in", o.Describe()));
            var after = await farm.Emulator.GetStatsAsync(ct);
            Assert.Equal(before.RefreshTokenReuse + 1, after.RefreshTokenReuse);
            Assert.Equal(before.TokenRequests + 2, after.TokenRequests);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, bystander), o => Assert.True(o.Succeeded, o.Describe()));

            var signedInAgain = await StormClient.SignInAsync(farm.Instances[1], user.PersonId, ct);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, signedInAgain), o => Assert.True(o.Succeeded, o.Describe()));
        });
    }
}

using Pitchly.AspNetCore;

namespace Pitchly.AspNetCore.Farm.Tests;

/// <summary>
/// A proxy in front of Pitchly's GraphQL endpoint rejects every call as unauthenticated, freshly issued tokens
/// included: refreshing cannot help, and must not turn into a rotation loop.
/// </summary>
public sealed class RejectingProxyTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Proxy_rejecting_every_graphql_call_for_30_seconds_keeps_the_refresh_grants_bounded_and_service_returns_to_normal_after()
    {
        var options = new StormFarmOptions
        {
            Instances = 3,
            Users = 2,
            TokenLifetime = TimeSpan.FromMinutes(10),
            ProxyGraphQL = true,
        };
        // The breaker's documented defaults: each instance lets at most RejectedTokenLimit freshly issued tokens of a key
        // be rejected in a row, then at most one refresh per cool-down. Bounded by the farm, not by the calls.
        var defaults = new PitchlyTokenManagementOptions();
        var coolDowns = (int)Math.Ceiling(Outage / defaults.RejectedTokenCoolDown);
        var maxGrantsDuringOutage = options.Instances * (defaults.RejectedTokenLimit + coolDowns);
        await FarmTest.RunAsync(options, async (farm, client) =>
        {
            var ct = TestContext.Current.CancellationToken;
            var users = await farm.SignInAllAsync(ct);
            var (user, bystander) = (users[0], users[1]);
            Assert.All(await FarmTest.CallEveryInstanceAsync(farm, client, user), o => Assert.True(o.Succeeded, o.Describe()));
            var before = await farm.Emulator.GetStatsAsync(ct);

            farm.GraphQLProxy!.Rejecting = true;
            var result = await LoadGenerator.RunAsync(client, farm.Instances, [user], concurrency: 4, Outage, cancellationToken: ct);
            farm.GraphQLProxy.Rejecting = false;
            var during = await farm.Emulator.GetStatsAsync(ct);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"outage: {result.Requests} calls, {farm.GraphQLProxy.Rejected} rejected by the proxy; failures: {string.Join(", ", result.Failures.Select(f => $"{f.Value} × {f.Key}"))}");
            TestContext.Current.TestOutputHelper?.WriteLine($"emulator: {during}");
            Assert.True(result.Requests >= 30, $"Only {result.Requests} calls were made during the outage.");
            Assert.True(
                during.RefreshGrants - before.RefreshGrants <= maxGrantsDuringOutage,
                $"{during.RefreshGrants - before.RefreshGrants} refresh grants during a {Outage.TotalSeconds:0} s outage of {result.Requests} calls; at most {maxGrantsDuringOutage} expected.");
            Assert.Equal(before.RefreshTokenReuse, during.RefreshTokenReuse);

            // Normal service once the proxy forwards again (after the breaker's cool-down, if it tripped).
            foreach (var someone in new[] { user, bystander })
            {
                await Eventually.HoldsAsync(
                    async () => (await FarmTest.CallEveryInstanceAsync(farm, client, someone)).All(o => o.Succeeded),
                    TimeSpan.FromSeconds(60),
                    $"{someone} to be served by every instance again");
            }

            var after = await farm.Emulator.GetStatsAsync(ct);
            Assert.Equal(before.RefreshTokenReuse, after.RefreshTokenReuse);
            Assert.Equal(before.RevokedFamilies, after.RevokedFamilies);
        });
    }
}

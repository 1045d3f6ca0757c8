using static Pitchly.AspNetCore.Tests.EmulatorIntegration.EmulatorFixture;

namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

public sealed class HandlerAgainstEmulatorTests
{
    private static readonly PitchlyGraphQLRequest WhoAmI = new("query WhoAmI { viewer { person { id name } } }");

    [Theory]
    [InlineData(PitchlyEmulatorErrorStyle.Platform)]
    [InlineData(PitchlyEmulatorErrorStyle.Legacy)]
    public async Task An_early_invalidation_costs_one_refresh_grant_and_one_replay_in_both_error_styles(PitchlyEmulatorErrorStyle style)
    {
        await using var app = await StartAsync(o => o.ErrorStyle = style, s => s.AddPitchlyGraphQLClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.ActAs(ada);
        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, (await app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation)).GetDataOrThrow().Viewer.Person!.Id);
        app.Emulator.ResetStats();

        Assert.Equal(1, app.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId));
        var data = (await app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelaceName, data.Viewer.Person!.Name);
        var stats = app.Emulator.GetStats();
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(2, stats.GraphQLRequests);
        Assert.Equal(1, stats.GraphQLUnauthenticated);
        Assert.Equal(["UNAUTHENTICATED", null], app.Emulator.GraphQLRequests.Select(r => r.ErrorCode));
    }

    [Fact]
    public async Task Two_hundred_concurrent_calls_across_several_expiries_spend_each_refresh_token_once()
    {
        var refreshed = new RefreshCounter();
        await using var app = await StartAsync(
            o => o.AccessTokenLifetime = TimeSpan.FromSeconds(1),
            s => s.AddPitchlyGraphQLClient().Services.AddSingleton<IPitchlyTokenRefreshedHandler>(refreshed));
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var failures = 0;

        for (var wave = 0; wave < 5; wave++)
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 200, CancellationToken = Cancellation }, async (_, ct) =>
            {
                app.ActAs(ada);
                var response = await app.GraphQL.SendAsync<ViewerData>(WhoAmI, ct);
                if (response.HasErrors || response.Data?.Viewer.Person?.Id != PitchlyEmulatorDefaults.AdaLovelacePersonId)
                {
                    Interlocked.Increment(ref failures);
                }
            });
            await Task.Delay(TimeSpan.FromMilliseconds(450), Cancellation);
        }

        var stats = app.Emulator.GetStats();
        Assert.Equal(0, failures);
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(0, stats.RevokedFamilies);
        Assert.True(stats.RefreshGrants >= 2, $"the calls crossed expiry only {stats.RefreshGrants} times");
        Assert.Equal(refreshed.Count, stats.RefreshGrants);
    }

    [Fact]
    public async Task Two_users_calling_in_parallel_through_one_client_each_carry_their_own_token()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var alan = await app.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Cancellation }, async (i, ct) =>
        {
            var key = i % 2 == 0 ? ada : alan;
            if (i == 100)
            {
                // Both users refresh while the other's calls are in flight.
                app.Emulator.InvalidateAccessTokens();
            }

            app.ActAs(key);
            var response = await app.GraphQL.SendAsync<ViewerData>(new($"query As_{key.PersonId} {{ viewer {{ person {{ id name }} }} }}"), ct);
            Assert.Equal(key.PersonId, response.GetDataOrThrow().Viewer.Person!.Id);
        });

        var seen = app.Emulator.GraphQLRequests.Where(r => r.Authenticated).ToArray();
        Assert.True(seen.Length >= 200);
        Assert.All(seen, r => Assert.Equal("As_" + r.PersonId, r.OperationName));
        Assert.Equal(2, app.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, app.Emulator.GetStats().RefreshTokenReuse);
    }

    [Fact]
    public async Task An_install_gets_its_token_from_client_credentials_and_carries_no_person()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.GlobexOrganizationId)));

        var first = (await app.GraphQL.SendAsync<OrganizationData>(new("{ organization { id name } }"), Cancellation)).GetDataOrThrow();
        var second = (await app.GraphQL.SendAsync<OrganizationData>(new("{ organization { id name } }"), Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationName, first.Organization.Name);
        Assert.Equal(first, second);
        Assert.Equal(1, app.Emulator.GetStats().ClientCredentialsGrants);
        Assert.All(app.Emulator.GraphQLRequests, r =>
        {
            Assert.Equal(PitchlyEmulatorCredentialKind.InstallAccessToken, r.CredentialKind);
            Assert.Null(r.PersonId);
        });
    }

    [Fact]
    public async Task The_api_key_mode_sends_the_secret_as_the_secretKey_variable()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyApiKey()));

        var data = (await app.GraphQL.SendAsync<OrganizationData>(new("query Org { organization { id name } }"), Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationId, data.Organization.Id);
        var seen = Assert.Single(app.Emulator.GraphQLRequests);
        Assert.Equal(PitchlyEmulatorCredentialKind.SecretKey, seen.CredentialKind);
        Assert.Equal(PitchlyEmulatorTokenPlacement.Variable, seen.Placement);
        Assert.Equal(0, app.Emulator.GetStats().TokenRequests);
    }

    [Fact]
    public async Task The_self_signed_jwt_mode_is_accepted_without_any_token_request()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlySelfSignedJwt()));

        var data = (await app.GraphQL.SendAsync<OrganizationData>(new("{ organization { id name } }"), Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationId, data.Organization.Id);
        var seen = Assert.Single(app.Emulator.GraphQLRequests);
        Assert.Equal(PitchlyEmulatorCredentialKind.SelfSignedJwt, seen.CredentialKind);
        Assert.Equal(PitchlyEmulatorTokenPlacement.AuthorizationHeader, seen.Placement);
        Assert.Equal(0, app.Emulator.GetStats().TokenRequests);
    }

    [Fact]
    public async Task A_refresh_whose_answer_is_lost_is_not_resent_and_the_user_must_sign_in_again()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.ActAs(ada);
        app.Emulator.Configure(o => { o.TokenEndpointFault = PitchlyEmulatorFault.DropAfterGrant; o.TokenEndpointFaultRate = 1; });
        app.Emulator.InvalidateAccessTokens();

        // Pitchly rotated the refresh token but the answer never arrived: re-sending the grant would be a reuse.
        var lost = await Assert.ThrowsAsync<PitchlyTokenEndpointException>(() => app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation));
        Assert.Null(lost.StatusCode);
        Assert.Equal(1, app.Emulator.GetStats().RefreshGrants);
        Assert.Equal(0, app.Emulator.GetStats().RefreshTokenReuse);

        // The stored refresh token is the spent one, so the next try is refused and the record removed: sign in again.
        app.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
        var signIn = await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation));
        Assert.Equal(ada, signIn.Key);
        Assert.Null(await app.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(ada, Cancellation));
        Assert.Equal(1, app.Emulator.GetStats().RefreshTokenReuse);
        Assert.DoesNotContain(lost.Message, "plyu_", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_endpoint_server_error_is_reported_and_the_refresh_token_still_works_afterwards()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.ActAs(ada);
        app.Emulator.Configure(o => { o.TokenEndpointFault = PitchlyEmulatorFault.ServerError; o.TokenEndpointFaultRate = 1; });
        app.Emulator.InvalidateAccessTokens();

        var failure = await Assert.ThrowsAsync<PitchlyTokenEndpointException>(() => app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation));
        Assert.Equal(500, failure.StatusCode);
        Assert.Equal("server_error", failure.Error);

        app.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
        var data = (await app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation)).GetDataOrThrow();
        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, data.Viewer.Person!.Id);
        var stats = app.Emulator.GetStats();
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
    }

    private sealed class RefreshCounter : IPitchlyTokenRefreshedHandler
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public ValueTask OnTokenRefreshedAsync(PitchlyTokenRefreshedContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.CompletedTask;
        }
    }
}

using static Pitchly.AspNetCore.Tests.EmulatorIntegration.EmulatorFixture;

namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

/// <summary>
/// An app that calls Pitchly as several identities: a key per call on the typed client, clients side by side, a key per
/// request on the app's own client, an asynchronous resolver; each against the emulator on Kestrel, across a refresh.
/// </summary>
public sealed class KeyPerCallTests
{
    private static readonly PitchlyGraphQLRequest WhoAmI = new("query WhoAmI { viewer { person { id name } } }");
    private static readonly PitchlyGraphQLRequest Org = new("query Org { organization { id name } }");

    [Fact]
    public async Task The_typed_client_sends_as_the_key_given_per_call_and_as_the_signed_in_user_otherwise()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var alan = await app.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);
        app.ActAs(ada);

        var asAlan = (await app.GraphQL.SendAsync<ViewerData>(alan, WhoAmI, Cancellation)).GetDataOrThrow();
        var asUser = (await app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation)).GetDataOrThrow();
        app.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AlanTuringPersonId);
        var asAlanAfterInvalidation = (await app.GraphQL.SendAsync<ViewerData>(alan, WhoAmI, Cancellation)).GetDataOrThrow();
        var asInstall = (await app.GraphQL.SendAsync<OrganizationData>(PitchlyTokenKey.ForInstall(PitchlyEmulatorDefaults.GlobexOrganizationId), Org, Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AlanTuringPersonId, asAlan.Viewer.Person!.Id);
        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, asUser.Viewer.Person!.Id);
        Assert.Equal(PitchlyEmulatorDefaults.AlanTuringPersonId, asAlanAfterInvalidation.Viewer.Person!.Id);
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, asInstall.Organization.Id);
        var stats = app.Emulator.GetStats();
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(1, stats.ClientCredentialsGrants);
    }

    [Fact]
    public async Task A_call_with_a_key_needs_no_signed_in_user()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient());
        var alan = await app.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);

        var data = (await app.GraphQL.SendAsync<ViewerData>(alan, WhoAmI, Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AlanTuringPersonId, data.Viewer.Person!.Id);
        await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation));
    }

    [Fact]
    public async Task A_user_client_and_an_install_client_side_by_side_each_carry_their_own_credential()
    {
        await using var app = await StartAsync(services: s =>
        {
            s.AddPitchlyGraphQLClient();
            s.AddPitchlyGraphQLClient("install", http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.GlobexOrganizationId));
            s.AddPitchlyGraphQLClient("install", http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.GlobexOrganizationId));
        });
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.ActAs(ada);
        var install = app.Services.GetRequiredKeyedService<IPitchlyGraphQLClient>("install");

        var user = (await app.GraphQL.SendAsync<ViewerData>(WhoAmI, Cancellation)).GetDataOrThrow();
        var organization = (await install.SendAsync<OrganizationData>(Org, Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, user.Viewer.Person!.Id);
        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, organization.Organization.Id);
        Assert.Equal(
            [(PitchlyEmulatorCredentialKind.UserAccessToken, PitchlyEmulatorDefaults.AdaLovelacePersonId), (PitchlyEmulatorCredentialKind.InstallAccessToken, null)],
            app.Emulator.GraphQLRequests.Select(r => (r.CredentialKind, r.PersonId)));
        Assert.Throws<InvalidOperationException>(() => new ServiceCollection()
            .AddPitchlyGraphQLClient("install", http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.GlobexOrganizationId))
            .Services.AddPitchlyGraphQLClient("install", http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId)));
    }

    [Fact]
    public async Task The_apps_own_client_carries_the_key_each_request_names_and_refuses_a_request_without_one()
    {
        await using var app = await StartAsync(services: s => s.AddHttpClient("own").AddPitchlyAccessToken());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var alan = await app.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);
        var client = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("own");
        var endpoint = new Uri(app.Server.BaseAddress, PitchlyEmulatorDefaults.GraphQLPath);

        foreach (var key in new[] { ada, alan, ada })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent("""{"query":"{ viewer { person { id } } }"}""", Encoding.UTF8, "application/json") };
            request.Options.Set(PitchlyHttpRequestOptions.TokenKey, key);
            using var response = await client.SendAsync(request, Cancellation);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
            Assert.Equal(key.PersonId, json.RootElement.GetProperty("data").GetProperty("viewer").GetProperty("person").GetProperty("id").GetString());
        }

        using var bare = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => client.SendAsync(bare, Cancellation));
        Assert.Contains("PitchlyHttpRequestOptions.TokenKey", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(3, app.Emulator.GetStats().GraphQLRequests);
    }

    [Fact]
    public async Task An_asynchronous_resolver_chooses_the_key_and_survives_an_invalidation()
    {
        var resolved = 0;
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyAccessToken(async (services, cancellationToken) =>
        {
            await Task.Delay(1, cancellationToken);
            Interlocked.Increment(ref resolved);
            return PitchlyTokenKey.ForInstall(PitchlyEmulatorDefaults.GlobexOrganizationId);
        })));

        var first = (await app.GraphQL.SendAsync<OrganizationData>(Org, Cancellation)).GetDataOrThrow();
        app.Emulator.InvalidateAccessTokens();
        var second = (await app.GraphQL.SendAsync<OrganizationData>(Org, Cancellation)).GetDataOrThrow();

        Assert.Equal(first, second);
        Assert.Equal(2, resolved);
        Assert.Equal(3, app.Emulator.GetStats().GraphQLRequests);
    }

    [Fact]
    public async Task The_obsolete_resolver_registration_still_works()
    {
#pragma warning disable CS0618 // the old name, kept for apps compiled against it
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(_ => PitchlyTokenKey.ForInstall(PitchlyEmulatorDefaults.GlobexOrganizationId))));
#pragma warning restore CS0618

        var data = (await app.GraphQL.SendAsync<OrganizationData>(Org, Cancellation)).GetDataOrThrow();

        Assert.Equal(PitchlyEmulatorDefaults.GlobexOrganizationId, data.Organization.Id);
    }

    [Fact]
    public async Task A_client_with_the_api_key_refuses_a_key_per_call_and_sends_nothing()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlyGraphQLClient(http => http.AddPitchlyApiKey()));
        var alan = await app.SignInAsync(PitchlyEmulatorDefaults.AlanTuringPersonId);

        var thrown = await Assert.ThrowsAsync<PitchlyException>(() => app.GraphQL.SendAsync<ViewerData>(alan, WhoAmI, Cancellation));

        Assert.Contains("App Secret", thrown.Message, StringComparison.Ordinal);
        Assert.Empty(app.Emulator.GraphQLRequests);
    }

    [Fact]
    public void Reading_the_key_of_a_request_without_options_creates_none_and_allocates_nothing()
    {
        using var bare = new HttpRequestMessage(HttpMethod.Post, "https://api.pitchly.test/graphql");
        using var keyed = new HttpRequestMessage(HttpMethod.Post, "https://api.pitchly.test/graphql");
        var key = PitchlyTokenKey.ForInstall("org_1");
        keyed.Options.Set(PitchlyHttpRequestOptions.TokenKey, key);
        Assert.Null(RequestTokenKey.Find(bare));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RequestTokenKey.Find(bare);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Null(typeof(HttpRequestMessage).GetField("_options", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(bare));
        Assert.Same(key, RequestTokenKey.Find(keyed));
    }
}

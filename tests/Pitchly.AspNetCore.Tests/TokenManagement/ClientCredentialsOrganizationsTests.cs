using Microsoft.Extensions.Logging.Testing;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>: an install key built from a tenant the
/// caller chose must not turn into app-level tokens of any organization Pitchly happens to know.
/// </summary>
public sealed class ClientCredentialsOrganizationsTests
{
    private const string Acme = PitchlyEmulatorDefaults.AcmeOrganizationId;
    private const string Globex = PitchlyEmulatorDefaults.GlobexOrganizationId;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_unregistered_organization_is_refused_without_a_token_request_and_logged_as_a_warning_not_an_error()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var services = Create(pitchly, new() { ["Pitchly:TokenManagement:ClientCredentialsOrganizations:0"] = Acme });
        var manager = services.GetRequiredService<IPitchlyTokenManager>();
        var globex = PitchlyTokenKey.ForInstall(Globex, "db_7");

        var refused = await Assert.ThrowsAsync<PitchlyOrganizationNotRegisteredException>(() => manager.GetAccessTokenAsync(globex, Cancellation).AsTask());
        var refusedAgain = await Assert.ThrowsAsync<PitchlyOrganizationNotRegisteredException>(() => manager.RefreshAsync(globex, null, Cancellation));

        Assert.Equal(globex, refused.Key);
        Assert.Equal(globex, refusedAgain.Key);
        Assert.Contains("ClientCredentialsOrganizations", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, pitchly.Emulator.GetStats().TokenRequests);
        Assert.Null(await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(globex, Cancellation));
        var logs = services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        Assert.DoesNotContain(logs, log => log.Level >= LogLevel.Error);
        Assert.Equal(2, logs.Count(log => log.Id.Id == 2153 && log.Level == LogLevel.Warning));

        // A registered organization is served as before.
        var acme = await manager.GetAccessTokenAsync(PitchlyTokenKey.ForInstall(Acme), Cancellation);
        Assert.False(string.IsNullOrEmpty(acme.Value));
        Assert.Equal(1, pitchly.Emulator.GetStats().ClientCredentialsGrants);
    }

    [Fact]
    public async Task Tokens_an_unregistered_organization_already_has_are_still_served()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var services = Create(pitchly, new() { ["Pitchly:TokenManagement:ClientCredentialsOrganizations:0"] = Acme });
        var globex = PitchlyTokenKey.ForInstall(Globex);
        var now = DateTimeOffset.UtcNow;
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(
            globex,
            new PitchlyTokenRecord { AccessToken = "exchanged-access", ExpiresAt = now.AddHours(1), IssuedAt = now, RefreshToken = "exchanged-refresh", OrganizationId = Globex },
            Cancellation);

        var token = await services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(globex, Cancellation);

        Assert.Equal("exchanged-access", token.Value);
        Assert.Equal(0, pitchly.Emulator.GetStats().TokenRequests);
    }

    [Fact]
    public async Task With_no_organization_listed_every_organization_gets_client_credentials_as_before()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var services = Create(pitchly, []);

        var token = await services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(PitchlyTokenKey.ForInstall(Globex), Cancellation);

        Assert.False(string.IsNullOrEmpty(token.Value));
        Assert.Equal(1, pitchly.Emulator.GetStats().ClientCredentialsGrants);
    }

    [Fact]
    public async Task A_blank_organization_stops_the_start_with_a_message_that_names_the_key()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        await using var services = Create(pitchly, new() { ["Pitchly:TokenManagement:ClientCredentialsOrganizations:0"] = " " });

        var exception = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>().CurrentValue);

        Assert.Contains("Pitchly:TokenManagement:ClientCredentialsOrganizations", exception.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Create(PitchlyEmulatorServer pitchly, Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(pitchly.ClientConfiguration).AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        services.AddPitchlyTokenManagement();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>Builds an application's services wired to the emulator or a <see cref="FakePitchly"/>, with a controllable clock.</summary>
public static class TestServices
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static ServiceProvider Create(FakePitchly pitchly, FakeTimeProvider time, Action<IServiceCollection>? configure = null, Action<PitchlyTokenManagementOptions>? options = null) =>
        Create(FakePitchly.ClientId, FakePitchly.ClientSecret, pitchly.TokenEndpoint, time, configure, options);

    public static ServiceProvider Create(PitchlyEmulatorServer pitchly, FakeTimeProvider time, Action<IServiceCollection>? configure = null, Action<PitchlyTokenManagementOptions>? options = null) =>
        Create(PitchlyEmulatorDefaults.ClientId, PitchlyEmulatorDefaults.ClientSecret, new Uri(pitchly.BaseAddress, PitchlyEmulatorDefaults.TokenPath).ToString(), time, configure, options);

    /// <summary>
    /// Starts an emulator and an application's services wired to it with a controllable clock, and signs
    /// <paramref name="key"/>'s person in.
    /// </summary>
    public static async Task<SignedInApp<PitchlyEmulatorServer>> SignInAtEmulatorAsync(PitchlyTokenKey key, Action<IServiceCollection>? configure = null, Action<PitchlyTokenManagementOptions>? options = null)
    {
        var pitchly = await PitchlyEmulatorServer.StartAsync(cancellationToken: Xunit.TestContext.Current.CancellationToken);
        var time = new FakeTimeProvider(Start);
        var services = Create(pitchly, time, configure, options);
        var stored = await SignInAsync(services, pitchly, key, time);
        return new(pitchly, time, services, stored, services.GetRequiredService<IPitchlyTokenManager>());
    }

    /// <summary>
    /// Starts a <see cref="FakePitchly"/> and an application's services wired to it with a controllable clock, and signs
    /// <paramref name="key"/>'s person in.
    /// </summary>
    public static async Task<SignedInApp<FakePitchly>> SignInAtFakeAsync(PitchlyTokenKey key, Action<IServiceCollection>? configure = null, Action<PitchlyTokenManagementOptions>? options = null)
    {
        var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(Start);
        var services = Create(pitchly, time, configure, options);
        var stored = await SignInAsync(services, pitchly, key, time);
        return new(pitchly, time, services, stored, services.GetRequiredService<IPitchlyTokenManager>());
    }

    /// <summary>Signs <paramref name="key"/>'s person in at the emulator and stores their tokens as sign-in would, valid for one hour.</summary>
    public static async Task<PitchlyTokenRecord> SignInAsync(IServiceProvider services, PitchlyEmulatorServer pitchly, PitchlyTokenKey key, FakeTimeProvider time)
    {
        var (_, record) = await EmulatorSignIn.SignInAsync(pitchly, key.PersonId!, time.GetUtcNow());
        return await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, record);
    }

    /// <summary>Whether the emulator still honours <paramref name="refreshToken"/>: it is spent to find out.</summary>
    public static async Task<bool> SpendRefreshTokenAsync(PitchlyEmulatorServer pitchly, string refreshToken)
    {
        using var http = new HttpClient { BaseAddress = pitchly.BaseAddress };
        using var response = await http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }), Xunit.TestContext.Current.CancellationToken);
        return response.IsSuccessStatusCode;
    }

    private static ServiceProvider Create(string clientId, string clientSecret, string tokenEndpoint, FakeTimeProvider time, Action<IServiceCollection>? configure, Action<PitchlyTokenManagementOptions>? options)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddPitchlyTokenManagement(o =>
        {
            o.ClientId = clientId;
            o.ClientSecret = clientSecret;
            o.TokenEndpoint = tokenEndpoint;
            options?.Invoke(o);
        });
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Signs a person in at the fake and stores their tokens as sign-in would, valid for one hour.</summary>
    public static async Task<PitchlyTokenRecord> SignInAsync(IServiceProvider services, FakePitchly pitchly, PitchlyTokenKey key, FakeTimeProvider time) =>
        await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, pitchly.SignIn(key, time.GetUtcNow()));
}

/// <summary>An application's token manager against a running Pitchly (the emulator or a fake), with a controllable clock and a user signed in.</summary>
public sealed record SignedInApp<TPitchly>(TPitchly Pitchly, FakeTimeProvider Time, ServiceProvider Services, PitchlyTokenRecord Stored, IPitchlyTokenManager Manager) : IAsyncDisposable
    where TPitchly : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Pitchly.DisposeAsync();
    }
}

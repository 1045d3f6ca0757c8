namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

/// <summary>A real emulator on Kestrel and an application's services pointed at it.</summary>
public sealed class EmulatorFixture : IAsyncDisposable
{
    private EmulatorFixture(PitchlyEmulatorServer server, ServiceProvider services)
    {
        Server = server;
        Services = services;
    }

    public PitchlyEmulatorServer Server { get; }

    public PitchlyEmulator Emulator => Server.Emulator;

    public ServiceProvider Services { get; }

    public IPitchlyGraphQLClient GraphQL => Services.GetRequiredService<IPitchlyGraphQLClient>();

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<EmulatorFixture> StartAsync(
        Action<PitchlyEmulatorOptions>? emulator = null,
        Action<IServiceCollection>? services = null,
        Action<PitchlyTokenManagementOptions>? tokenManagement = null)
    {
        var server = await PitchlyEmulatorServer.StartAsync(emulator, Cancellation);
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(server.ClientConfiguration).Build());
        collection.AddLogging();
        collection.AddPitchlyTokenManagement(o =>
        {
            // Retries of an unreachable endpoint are not under test here; keep failures prompt.
            o.TokenEndpointRetryTimeout = TimeSpan.Zero;
            tokenManagement?.Invoke(o);
        });
        services?.Invoke(collection);
        return new EmulatorFixture(server, collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    /// <summary>Signs a person in at the emulator (authorization code grant) and stores the tokens as sign-in would.</summary>
    public Task<PitchlyTokenKey> SignInAsync(string personId) =>
        EmulatorSignIn.SignInAndStoreAsync(Server, Services.GetRequiredService<IPitchlyTokenStore>(), personId);

    /// <summary>Makes <paramref name="key"/>'s person the signed-in user of the current async flow, as a request would.</summary>
    public void ActAs(PitchlyTokenKey key) => SignedInRequest.ActAs(Services, key, ClaimTypes.NameIdentifier);

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
    }
}

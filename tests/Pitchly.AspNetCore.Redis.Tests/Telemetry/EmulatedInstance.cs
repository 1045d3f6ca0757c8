namespace Pitchly.AspNetCore.Redis.Tests.Telemetry;

/// <summary>
/// One application instance in Redis mode, pointed at a real emulator: its own service provider (and so its own meter),
/// sharing Redis and a Data Protection key ring with the other instances made with the same prefix and directory.
/// Its GraphQL client calls as <see cref="Key"/>.
/// </summary>
public sealed class EmulatedInstance : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private EmulatedInstance(ServiceProvider provider, PitchlyTokenKey key)
    {
        _provider = provider;
        Key = key;
    }

    public PitchlyTokenKey Key { get; }

    public IServiceProvider Services => _provider;

    public IPitchlyTokenStore Store => _provider.GetRequiredService<IPitchlyTokenStore>();

    public IPitchlyTokenManager Manager => _provider.GetRequiredService<IPitchlyTokenManager>();

    public IPitchlyGraphQLClient GraphQL => _provider.GetRequiredService<IPitchlyGraphQLClient>();

    public static EmulatedInstance Create(
        RedisServer redis,
        PitchlyEmulatorServer emulator,
        string keyPrefix,
        string keyRingDirectory,
        PitchlyTokenKey key,
        Action<PitchlyRedisOptions>? configureRedis = null,
        ILoggerProvider? logs = null) =>
        Create(redis.Configuration, emulator, keyPrefix, keyRingDirectory, key, configureRedis, logs);

    /// <summary>Creates an instance connecting with <paramref name="redisConfiguration"/> (one server, or a cluster's nodes).</summary>
    public static EmulatedInstance Create(
        string redisConfiguration,
        PitchlyEmulatorServer emulator,
        string keyPrefix,
        string keyRingDirectory,
        PitchlyTokenKey key,
        Action<PitchlyRedisOptions>? configureRedis = null,
        ILoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(emulator.ClientConfiguration).Build());
        services.AddLogging(logging =>
        {
            if (logs is not null)
            {
                logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs);
            }
        });
        services.AddDataProtection().SetApplicationName("pitchly-redis-tests").PersistKeysToFileSystem(new DirectoryInfo(keyRingDirectory));
        services.AddPitchlyTokenManagement(options => options.TokenEndpointRetryTimeout = TimeSpan.Zero).AddRedis(options =>
        {
            options.Configuration = redisConfiguration;
            options.KeyPrefix = keyPrefix;
            options.ConnectTimeout = TimeSpan.FromSeconds(1);
            options.OperationTimeout = TimeSpan.FromSeconds(1);
            configureRedis?.Invoke(options);
        });
        services.AddPitchlyGraphQLClient(http => http.AddPitchlyAccessToken(_ => key));
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("warm-up").Protect([1]);
        return new EmulatedInstance(provider, key);
    }

    /// <summary>Signs <paramref name="personId"/> in at the emulator (authorization code grant); returns the token answer.</summary>
    public static Task<(PitchlyTokenKey Key, PitchlyTokenRecord Record)> SignInAtEmulatorAsync(PitchlyEmulatorServer emulator, string personId) =>
        EmulatorSignIn.SignInAsync(emulator, personId);

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}

/// <summary>The shape of <c>{ viewer { person { id } } }</c>.</summary>
public sealed record ViewerData(ViewerData.ViewerNode Viewer)
{
    public sealed record ViewerNode(PersonNode Person);

    public sealed record PersonNode(string Id);
}

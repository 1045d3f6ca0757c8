namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// One application instance: its own service provider with the Redis store and lock, sharing Redis and a Data
/// Protection key ring (a shared directory) with every other instance created with the same arguments.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private TestApp(ServiceProvider provider) => _provider = provider;

    public IPitchlyTokenStore Store => _provider.GetRequiredService<IPitchlyTokenStore>();

    public IPitchlyRefreshLock Lock => _provider.GetRequiredService<IPitchlyRefreshLock>();

    internal RedisPitchlyTokenStore RedisStore => _provider.GetRequiredService<RedisPitchlyTokenStore>();

    public IServiceProvider Services => _provider;

    public static TestApp Create(RedisServer redis, string keyPrefix, string keyRingDirectory, Action<PitchlyRedisOptions>? configure = null, CapturedLogs? logs = null) =>
        Create(redis.Configuration, keyPrefix, keyRingDirectory, configure, logs);

    /// <summary>Creates an instance connecting with <paramref name="configuration"/> (one server, or a cluster's nodes).</summary>
    public static TestApp Create(string configuration, string keyPrefix, string keyRingDirectory, Action<PitchlyRedisOptions>? configure = null, CapturedLogs? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        services.AddHealthChecks().AddPitchlyRedisHealthCheck();
        services.AddDataProtection()
            .SetApplicationName("pitchly-redis-tests")
            .PersistKeysToFileSystem(new DirectoryInfo(keyRingDirectory));
        services.AddPitchlyTokenManagement().AddRedis(options =>
        {
            options.Configuration = configuration;
            options.KeyPrefix = keyPrefix;
            options.ConnectTimeout = TimeSpan.FromSeconds(1);
            options.OperationTimeout = TimeSpan.FromSeconds(1);
            options.L1MaxAge = TimeSpan.FromMinutes(10);
            configure?.Invoke(options);
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        // Creates the shared key ring before a second instance could create a competing first key.
        provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("warm-up").Protect([1]);
        return new TestApp(provider);
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}

public static class Records
{
    public static PitchlyTokenRecord Create(string accessToken, string refreshToken) => new()
    {
        AccessToken = accessToken,
        RefreshToken = refreshToken,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
        IssuedAt = DateTimeOffset.UtcNow,
        Scope = "read write",
        OrganizationId = "org-4f7d1c",
    };
}

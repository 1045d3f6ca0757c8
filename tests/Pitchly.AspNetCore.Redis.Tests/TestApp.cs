using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

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

    /// <summary>The Data Protection application name of the test instances unless a test gives another.</summary>
    public const string ApplicationName = "pitchly-redis-tests";

    public static TestApp Create(RedisServer redis, string keyPrefix, string keyRingDirectory, Action<PitchlyRedisOptions>? configure = null, CapturedLogs? logs = null, string applicationName = ApplicationName) =>
        Create(redis.Configuration, keyPrefix, keyRingDirectory, configure, logs, applicationName);

    /// <summary>Creates an instance connecting with <paramref name="configuration"/> (one server, or a cluster's nodes).</summary>
    public static TestApp Create(string configuration, string keyPrefix, string keyRingDirectory, Action<PitchlyRedisOptions>? configure = null, CapturedLogs? logs = null, string applicationName = ApplicationName)
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
            .SetApplicationName(applicationName)
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

    /// <summary>Runs the start-up check of the Data Protection keys, as the host would before serving.</summary>
    public Task StartAsync() =>
        _provider.GetServices<IHostedService>().OfType<DataProtectionCanaryCheck>().Single().StartAsync(TestContext.Current.CancellationToken);

    /// <summary>Runs the Redis health check as a health endpoint would.</summary>
    public Task<HealthReport> CheckHealthAsync() =>
        _provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

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

using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Redis.Internal;
using Pitchly.AspNetCore.Testing;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Tests.Conformance;

/// <summary>
/// Instances of a web farm over one Redis deployment, as the conformance kit asks for them: each its own service
/// provider (connections, L1 cache, subscriptions), all sharing a key prefix and a Data Protection key ring.
/// </summary>
internal sealed class RedisFarm(string configuration) : IAsyncDisposable
{
    private static readonly TimeSpan LockLease = TimeSpan.FromMilliseconds(600);

    private readonly string _prefix = $"k{Guid.NewGuid():N}"[..12];
    private readonly DirectoryInfo _keyRing = Directory.CreateTempSubdirectory("pitchly-keys-");
    private readonly List<ServiceProvider> _instances = [];

    public static async Task VerifyStoreAsync(string configuration, CancellationToken cancel)
    {
        await using var farm = new RedisFarm(configuration);
        var verified = await PitchlyTokenStoreConformance.VerifyAsync(
            _ => ValueTask.FromResult(farm.NewInstance().GetRequiredService<IPitchlyTokenStore>()),
            options: null,
            cancel);
        Assert.Equal(PitchlyTokenStoreConformance.Rules, verified);
    }

    /// <remarks>A short lease, so that holding the lock for <see cref="PitchlyRefreshLockConformanceOptions.HoldDuration"/> needs renewals.</remarks>
    public static async Task VerifyLockAsync(string configuration, CancellationToken cancel)
    {
        await using var farm = new RedisFarm(configuration);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(configuration);
        var names = new RedisKeyNames(farm._prefix);
        var verified = await PitchlyRefreshLockConformance.VerifyAsync(
            _ => ValueTask.FromResult(farm.NewInstance().GetRequiredService<IPitchlyRefreshLock>()),
            new PitchlyRefreshLockConformanceOptions
            {
                HoldDuration = LockLease * 3,

                // What an expired lease leaves: no lock key.
                EndLeaseAsync = async (key, _) => Assert.True(await admin.GetDatabase().KeyDeleteAsync(names.Lock(RedisKeyNames.Hash(key)))),
            },
            cancel);
        Assert.Equal(PitchlyRefreshLockConformance.Rules, verified);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        _keyRing.Delete(recursive: true);
    }

    private ServiceProvider NewInstance()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDataProtection().SetApplicationName("pitchly-conformance").PersistKeysToFileSystem(_keyRing);
        services.AddPitchlyTokenManagement().AddRedis(options =>
        {
            options.Configuration = configuration;
            options.KeyPrefix = _prefix;
            options.LockLease = LockLease;
            options.ConnectTimeout = TimeSpan.FromSeconds(2);
            options.OperationTimeout = TimeSpan.FromSeconds(2);
        });
        var instance = services.BuildServiceProvider();
        lock (_instances)
        {
            _instances.Add(instance);
        }

        // The first instance creates the shared key ring before another could create a competing first key.
        instance.GetRequiredService<IDataProtectionProvider>().CreateProtector("conformance").Protect([1]);
        return instance;
    }
}

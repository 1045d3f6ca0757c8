using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Redis.Tests;

public sealed class RegistrationTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_up_fails_clearly_when_data_protection_keys_are_not_shared()
    {
        using var host = CreateHost(builder => builder.Services.AddPitchlyTokenManagement().AddRedis(redis.Configuration));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancel));

        Assert.Contains("not persisted to a shared repository", failure.Message, StringComparison.Ordinal);
        Assert.Contains("PersistKeysToStackExchangeRedis", failure.Message, StringComparison.Ordinal);
        Assert.Contains("AllowUnsharedDataProtectionKeys", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_succeeds_with_a_persisted_key_ring_or_an_explicit_single_instance_opt_in()
    {
        var keyRing = Directory.CreateTempSubdirectory("pitchly-keys-");
        try
        {
            using var persisted = CreateHost(builder =>
            {
                builder.Services.AddDataProtection().PersistKeysToFileSystem(keyRing);
                builder.Services.AddPitchlyTokenManagement().AddRedis(redis.Configuration);
            });
            await persisted.StartAsync(Cancel);
            await persisted.StopAsync(Cancel);

            using var optedIn = CreateHost(builder => builder.Services.AddPitchlyTokenManagement().AddRedis(options =>
            {
                options.Configuration = redis.Configuration;
                options.AllowUnsharedDataProtectionKeys = true;
            }));
            await optedIn.StartAsync(Cancel);
            await optedIn.StopAsync(Cancel);
        }
        finally
        {
            keyRing.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Settings_bind_from_the_pitchly_redis_section_and_a_named_connection_string()
    {
        using var host = CreateHost(builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:tokens"] = redis.Configuration,
                ["Pitchly:Redis:ConnectionStringName"] = "tokens",
                ["Pitchly:Redis:KeyPrefix"] = "configured",
                ["Pitchly:Redis:LockLease"] = "00:00:05",
                ["Pitchly:Redis:OutagePolicy"] = "UseCachedTokensOnly",
                ["Pitchly:Redis:AllowUnsharedDataProtectionKeys"] = "true",
            });
            builder.Services.AddPitchlyTokenManagement().AddRedis();
        });
        await host.StartAsync(Cancel);

        var options = host.Services.GetRequiredService<IOptions<PitchlyRedisOptions>>().Value;
        Assert.Equal("configured", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromSeconds(5), options.LockLease);
        Assert.Equal(PitchlyRedisOutagePolicy.UseCachedTokensOnly, options.OutagePolicy);
        Assert.IsType<RedisPitchlyTokenStore>(host.Services.GetRequiredService<IPitchlyTokenStore>());
        Assert.IsType<RedisRefreshLock>(host.Services.GetRequiredService<IPitchlyRefreshLock>());

        var key = PitchlyTokenKey.ForUser("org-1", "person-1");
        await host.Services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, Records.Create("a", "r"), Cancel);
        Assert.Single(redis.AdminServer.Keys(pattern: "configured:*:tok:*"));
        await host.StopAsync(Cancel);
    }

    [Fact]
    public async Task A_supplied_connection_multiplexer_is_used_and_not_disposed()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(_ => multiplexer, options =>
        {
            options.KeyPrefix = "supplied";
            options.AllowUnsharedDataProtectionKeys = true;
        });
        await using (var provider = services.BuildServiceProvider())
        {
            await provider.GetRequiredService<IPitchlyTokenStore>().SetAsync(PitchlyTokenKey.ForInstall("org-1"), Records.Create("a", "r"), Cancel);
        }

        Assert.True(multiplexer.IsConnected);
        Assert.Single(redis.AdminServer.Keys(pattern: "supplied:*:tok:*"));
        await multiplexer.DisposeAsync();
    }

    [Fact]
    public async Task Disposing_the_service_provider_synchronously_closes_the_connection_it_opened()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement().AddRedis(options =>
        {
            options.Configuration = redis.Configuration;
            options.KeyPrefix = "sync-dispose";
            options.AllowUnsharedDataProtectionKeys = true;
        });
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IPitchlyTokenStore>().GetAsync(PitchlyTokenKey.ForInstall("org-1"), Cancel);
        var clientsBefore = await ClientCountAsync();

        provider.Dispose();

        await Eventually.HoldsAsync(
            async () => await ClientCountAsync() < clientsBefore,
            TimeSpan.FromSeconds(5),
            "the connection opened for the store is closed");
    }

    [Fact]
    public async Task Missing_connection_settings_fail_start_up_with_what_to_set()
    {
        using var host = CreateHost(builder => builder.Services.AddPitchlyTokenManagement().AddRedis(options =>
        {
            options.AllowUnsharedDataProtectionKeys = true;
            options.LockLease = TimeSpan.Zero;
            options.L1MaxEntries = 0;
        }));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancel));

        Assert.Contains("Pitchly:Redis:Configuration", failure.Message, StringComparison.Ordinal);
        Assert.Contains("LockLease", failure.Message, StringComparison.Ordinal);
        Assert.Contains("L1MaxEntries", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lock_wait_longer_than_the_refresh_timeout_fails_start_up_naming_both_settings()
    {
        using var host = CreateHost(builder => builder.Services.AddPitchlyTokenManagement(o => o.RefreshTimeout = TimeSpan.FromSeconds(10)).AddRedis(options =>
        {
            options.Configuration = redis.Configuration;
            options.AllowUnsharedDataProtectionKeys = true;
            options.LockWaitTimeout = TimeSpan.FromSeconds(20);
        }));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancel));

        Assert.Contains("Pitchly:Redis:LockWaitTimeout (00:00:20) is longer than Pitchly:TokenManagement:RefreshTimeout (00:00:10)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Lower LockWaitTimeout or raise RefreshTimeout", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:02", "is not shorter than the send window of a refresh, Pitchly:TokenManagement:FenceTimeout − TokenRequestTimeout (00:00:02)", "raise FenceTimeout (or lower TokenRequestTimeout)")]
    [InlineData("00:00:01.500", "is at least half of Pitchly:TokenManagement:FenceTimeout (00:00:03)", "Lower ReplicaAcknowledgementTimeout or raise FenceTimeout")]
    public async Task A_replica_wait_the_fence_cannot_cover_fails_start_up_naming_the_settings_to_change(string replicaWait, string relation, string remedy)
    {
        using var host = CreateHost(builder => builder.Services
            .AddPitchlyTokenManagement(o =>
            {
                o.FenceTimeout = TimeSpan.FromSeconds(3);
                o.TokenRequestTimeout = TimeSpan.FromSeconds(1);
            })
            .AddRedis(options =>
            {
                options.Configuration = redis.Configuration;
                options.AllowUnsharedDataProtectionKeys = true;
                options.ReplicaAcknowledgementTimeout = TimeSpan.Parse(replicaWait, CultureInfo.InvariantCulture);
            }));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancel));

        Assert.Contains($"Pitchly:Redis:ReplicaAcknowledgementTimeout ({TimeSpan.Parse(replicaWait, CultureInfo.InvariantCulture)}) {relation}", failure.Message, StringComparison.Ordinal);
        Assert.Contains(remedy, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("app{1}")]
    [InlineData("app}")]
    public async Task A_key_prefix_with_a_brace_fails_start_up_naming_the_setting(string prefix)
    {
        using var host = CreateHost(builder => builder.Services.AddPitchlyTokenManagement().AddRedis(options =>
        {
            options.Configuration = redis.Configuration;
            options.AllowUnsharedDataProtectionKeys = true;
            options.KeyPrefix = prefix;
        }));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancel));

        Assert.Contains($"Pitchly:Redis:KeyPrefix '{prefix}' must not contain '{{' or '}}'", failure.Message, StringComparison.Ordinal);
    }

    private async Task<int> ClientCountAsync() =>
        ((string?)await redis.AdminServer.ExecuteAsync("CLIENT", "LIST"))!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private static IHost CreateHost(Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        configure(builder);
        return builder.Build();
    }
}

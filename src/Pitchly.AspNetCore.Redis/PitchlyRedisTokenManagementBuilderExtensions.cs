using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Redis;
using Pitchly.AspNetCore.Redis.Internal;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Turns on web-farm mode: the encrypted Redis token store and the distributed refresh lock.</summary>
public static class PitchlyRedisTokenManagementBuilderExtensions
{
    /// <summary>The configuration section the Redis settings are bound from.</summary>
    public const string ConfigurationSection = "Pitchly:Redis";

    /// <summary>
    /// Stores tokens in Redis and serialises refreshes across instances with a Redis lock, configured from the
    /// <c>Pitchly:Redis</c> section (<c>Configuration</c> or <c>ConnectionStringName</c>), or using an
    /// <see cref="IConnectionMultiplexer"/> already registered.
    /// </summary>
    /// <param name="builder">The token-management builder.</param>
    /// <returns>The builder.</returns>
    public static PitchlyTokenManagementBuilder AddRedis(this PitchlyTokenManagementBuilder builder)
        => AddRedisCore(builder, configure: null, factory: null);

    /// <summary>Stores tokens in Redis and serialises refreshes across instances with a Redis lock.</summary>
    /// <param name="builder">The token-management builder.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, for example <c>localhost:6379</c>.</param>
    /// <returns>The builder.</returns>
    public static PitchlyTokenManagementBuilder AddRedis(this PitchlyTokenManagementBuilder builder, string configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return AddRedisCore(builder, options => options.Configuration = configuration, factory: null);
    }

    /// <summary>Stores tokens in Redis and serialises refreshes across instances with a Redis lock.</summary>
    /// <param name="builder">The token-management builder.</param>
    /// <param name="configure">Configures the settings; applied after the <c>Pitchly:Redis</c> configuration section.</param>
    /// <returns>The builder.</returns>
    public static PitchlyTokenManagementBuilder AddRedis(this PitchlyTokenManagementBuilder builder, Action<PitchlyRedisOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddRedisCore(builder, configure, factory: null);
    }

    /// <summary>
    /// Stores tokens in Redis and serialises refreshes across instances with a Redis lock, on a connection multiplexer
    /// the application owns (its timeouts and backlog policy apply; this package does not dispose it).
    /// </summary>
    /// <param name="builder">The token-management builder.</param>
    /// <param name="connectionMultiplexerFactory">Returns the multiplexer; called once, on first use.</param>
    /// <param name="configure">Configures the settings; applied after the <c>Pitchly:Redis</c> configuration section.</param>
    /// <returns>The builder.</returns>
    public static PitchlyTokenManagementBuilder AddRedis(
        this PitchlyTokenManagementBuilder builder,
        Func<IServiceProvider, IConnectionMultiplexer> connectionMultiplexerFactory,
        Action<PitchlyRedisOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connectionMultiplexerFactory);
        return AddRedisCore(builder, configure, new RedisConnectionFactory(connectionMultiplexerFactory));
    }

    private static PitchlyTokenManagementBuilder AddRedisCore(
        PitchlyTokenManagementBuilder builder,
        Action<PitchlyRedisOptions>? configure,
        RedisConnectionFactory? factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (!services.Any(descriptor => descriptor.ServiceType == typeof(RedisConnection)))
        {
            services.AddDataProtection();
            services.AddOptions<PitchlyRedisOptions>()
                .Configure<IServiceProvider>(static (options, provider) =>
                    provider.GetService<IConfiguration>()?.GetSection(ConfigurationSection).Bind(options))
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PitchlyRedisOptions>, PitchlyRedisOptionsValidator>());
            services.TryAddSingleton<RedisConnection>();
            services.TryAddSingleton<ReplicaAcknowledgement>();
            services.TryAddSingleton<DataProtectionCanary>();
            services.AddHostedService<DataProtectionCanaryCheck>();
            services.TryAddSingleton<RedisPitchlyTokenStore>();
            services.TryAddSingleton<RedisRefreshLock>();
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (factory is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(factory));
        }

        services.Replace(ServiceDescriptor.Singleton<IPitchlyTokenStore>(static provider => provider.GetRequiredService<RedisPitchlyTokenStore>()));
        services.Replace(ServiceDescriptor.Singleton<IPitchlyRefreshLock>(static provider => provider.GetRequiredService<RedisRefreshLock>()));
        return builder;
    }
}

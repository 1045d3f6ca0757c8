using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The one connection multiplexer the store, the lock and the health check share, opened on first use, and the
/// pub/sub announcements they listen to. Announcements are trusted only while no connection of the multiplexer is
/// failed (each endpoint has an interactive and a subscription connection, which fail and recover independently):
/// after a failure some may have been missed, which listeners handle on <see cref="ConnectionRestored"/>.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable, IDisposable
{
    /// <summary>How often a subscription that keeps failing is reported: every operation retries it meanwhile.</summary>
    private static readonly TimeSpan SubscribeWarningInterval = TimeSpan.FromSeconds(30);

    private readonly IServiceProvider _services;
    private readonly RedisConnectionFactory? _factory;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _ownsMultiplexer;
    private readonly HashSet<(EndPoint? EndPoint, ConnectionType Type)> _failedConnections = [];
    private readonly Action<RedisChannel, RedisValue> _onChanged;
    private readonly Action<RedisChannel, RedisValue> _onReleased;
    private volatile bool _subscribed;
    private volatile int _failedConnectionCount;
    private long? _lastSubscribeWarning;

    public RedisConnection(
        IServiceProvider services,
        IOptions<PitchlyRedisOptions> options,
        ILogger<RedisConnection> logger,
        TimeProvider timeProvider,
        RedisConnectionFactory? factory = null)
    {
        _services = services;
        _factory = factory;
        _logger = logger;
        _timeProvider = timeProvider;
        Options = options.Value;
        Names = new RedisKeyNames(Options.KeyPrefix);
        _onChanged = OnChangedMessage;
        _onReleased = OnReleasedMessage;
    }

    /// <summary>Raised for every announced write or removal: the hashed key and its new version.</summary>
    public event Action<string, long>? RecordChanged;

    /// <summary>Raised when a refresh lock is released: the hashed key.</summary>
    public event Action<string>? LockReleased;

    /// <summary>Raised when the connection fails: announcements may be missed from now on.</summary>
    public event Action? ConnectionFailed;

    /// <summary>Raised when the connection is restored: announcements made meanwhile were missed.</summary>
    public event Action? ConnectionRestored;

    public PitchlyRedisOptions Options { get; }

    public RedisKeyNames Names { get; }

    /// <summary>Gets a value indicating whether every announcement is being received, so cached copies may be trusted.</summary>
    public bool AnnouncementsReliable => _subscribed && _failedConnectionCount == 0;

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        var multiplexer = _multiplexer ?? await ConnectAsync(cancellationToken);
        if (!_subscribed)
        {
            await SubscribeAsync(multiplexer);
        }

        return multiplexer.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is { } multiplexer)
        {
            if (_ownsMultiplexer)
            {
                await multiplexer.DisposeAsync();
            }
            else
            {
                Detach(multiplexer);
                await UnsubscribeAsync(multiplexer, CommandFlags.None);
            }
        }

        _connectGate.Dispose();
        _subscribeGate.Dispose();
    }

    /// <summary>Closes the connection when the service provider is disposed synchronously.</summary>
    public void Dispose()
    {
        if (_multiplexer is { } multiplexer)
        {
            if (_ownsMultiplexer)
            {
                multiplexer.Dispose();
            }
            else
            {
                Detach(multiplexer);
                _ = UnsubscribeAsync(multiplexer, CommandFlags.FireAndForget).AsTask();
            }
        }

        _connectGate.Dispose();
        _subscribeGate.Dispose();
    }

    private async ValueTask<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken);
        try
        {
            if (_multiplexer is { } existing)
            {
                return existing;
            }

            IConnectionMultiplexer multiplexer;
            if (_factory is not null)
            {
                multiplexer = _factory.Create(_services);
            }
            else if (ResolveConfiguration() is { } configuration)
            {
                multiplexer = await ConnectionMultiplexer.ConnectAsync(CreateConfiguration(configuration));
                _ownsMultiplexer = true;
            }
            else
            {
                multiplexer = _services.GetService<IConnectionMultiplexer>()
                    ?? throw new InvalidOperationException(PitchlyRedisOptionsValidator.NoConnectionMessage);
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            _multiplexer = multiplexer;
            RedisLog.Connected(_logger, Options.KeyPrefix);
            return multiplexer;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private string? ResolveConfiguration()
    {
        if (!string.IsNullOrWhiteSpace(Options.Configuration))
        {
            return Options.Configuration;
        }

        return string.IsNullOrWhiteSpace(Options.ConnectionStringName)
            ? null
            : _services.GetService<IConfiguration>()?.GetConnectionString(Options.ConnectionStringName);
    }

    private ConfigurationOptions CreateConfiguration(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = ToMilliseconds(Options.ConnectTimeout);
        options.SyncTimeout = ToMilliseconds(Options.OperationTimeout);
        options.AsyncTimeout = ToMilliseconds(Options.OperationTimeout);

        // Commands fail at once while disconnected instead of queueing until the timeout: callers get a prompt,
        // retryable error, and the lock never acts on a command that ran late.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= string.Create(CultureInfo.InvariantCulture, $"pitchly-{Environment.MachineName}");
        return options;
    }

    private static int ToMilliseconds(TimeSpan value) => (int)Math.Clamp(value.TotalMilliseconds, 1, int.MaxValue);

    private async ValueTask SubscribeAsync(IConnectionMultiplexer multiplexer)
    {
        // One operation subscribes at a time; the others go on without the cache rather than queue behind a
        // subscription that may wait for an unreachable server.
        if (!_subscribeGate.Wait(0))
        {
            return;
        }

        try
        {
            if (_subscribed)
            {
                return;
            }

            var subscriber = multiplexer.GetSubscriber();
            await subscriber.SubscribeAsync(Names.Changed, _onChanged);
            await subscriber.SubscribeAsync(Names.Released, _onReleased);
            _subscribed = true;
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            // The operation that needed the connection reports the outage; reads skip the cache meanwhile.
            var now = _timeProvider.GetTimestamp();
            if (_lastSubscribeWarning is not { } last || _timeProvider.GetElapsedTime(last, now) >= SubscribeWarningInterval)
            {
                _lastSubscribeWarning = now;
                RedisLog.SubscribeFailed(_logger, exception);
            }
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    /// <summary>
    /// Leaves a multiplexer the application owns as it was found: it outlives this instance, which must not keep
    /// receiving its events and announcements (nor be kept alive by them).
    /// </summary>
    private void Detach(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
    }

    private async ValueTask UnsubscribeAsync(IConnectionMultiplexer multiplexer, CommandFlags flags)
    {
        try
        {
            var subscriber = multiplexer.GetSubscriber();
            await subscriber.UnsubscribeAsync(Names.Changed, _onChanged, flags);
            await subscriber.UnsubscribeAsync(Names.Released, _onReleased, flags);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is ObjectDisposedException)
        {
            // The handlers are removed locally before the command is sent; the server drops the channels with the connection.
        }
    }

    private void OnChangedMessage(RedisChannel channel, RedisValue message)
    {
        // "{hash}:{version}"; the hash is base64url and never contains ':'.
        var text = (string?)message;
        var separator = text?.LastIndexOf(':') ?? -1;
        if (text is null || separator <= 0
            || !long.TryParse(text.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return;
        }

        RecordChanged?.Invoke(text[..separator], version);
    }

    private void OnReleasedMessage(RedisChannel channel, RedisValue message)
    {
        if ((string?)message is { Length: > 0 } hash)
        {
            LockReleased?.Invoke(hash);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        lock (_failedConnections)
        {
            _failedConnections.Add((e.EndPoint, e.ConnectionType));
            _failedConnectionCount = _failedConnections.Count;
        }

        RedisLog.ConnectionFailed(_logger, e.ConnectionType.ToString(), e.FailureType.ToString());
        ConnectionFailed?.Invoke();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Cleared on every restoration, not only the subscription connection's: with RESP3 announcements arrive on the
        // interactive connection. Nothing is cached meanwhile, and the cache is trusted again only once every failed
        // connection is back.
        ConnectionRestored?.Invoke();
        lock (_failedConnections)
        {
            _failedConnections.Remove((e.EndPoint, e.ConnectionType));
            _failedConnectionCount = _failedConnections.Count;
        }

        RedisLog.ConnectionRestored(_logger, e.ConnectionType.ToString());
    }
}

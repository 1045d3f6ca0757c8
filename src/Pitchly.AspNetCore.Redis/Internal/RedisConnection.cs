using System.Globalization;
using System.Net;
using System.Runtime.ExceptionServices;
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
/// <remarks>
/// <para>
/// Each bucket of records has its own announcement channel (<see cref="RedisKeyNames.ChannelNames"/>), subscribed all
/// at once. On Redis 7 and later they are sharded channels (<c>SSUBSCRIBE</c>/<c>SPUBLISH</c>), so in a Redis Cluster an
/// announcement travels only within the shard that owns its record; the choice is made once per connection, from the
/// servers' version, and handed to every script.
/// </para>
/// <para>
/// When a cluster slot moves, the node that gave it up ends its sharded subscriptions (an unsolicited
/// <c>SUNSUBSCRIBE</c>) and StackExchange.Redis subscribes again where the slot went; announcements published
/// meanwhile are lost. So a moved slot (<see cref="IConnectionMultiplexer.HashSlotMoved"/>) or a bucket channel found
/// without a subscription raises <see cref="AnnouncementsInterrupted"/>, and announcements are not trusted again until
/// every bucket channel is subscribed on the node its slot is routed to.
/// </para>
/// </remarks>
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
    private readonly SemaphoreSlim _acknowledgementGate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _ownsMultiplexer;
    private string? _ownConfiguration;
    private IConnectionMultiplexer? _acknowledgementMultiplexer;
    private readonly HashSet<(EndPoint? EndPoint, ConnectionType Type)> _failedConnections = [];
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private readonly object _modeGate = new();
    private readonly bool[] _channelSubscribed = new bool[RedisKeyNames.BucketCount];
    private RedisChannel[]? _channels;
    private volatile bool _sharded;
    private ISubscriber? _subscriber;
    private volatile bool _subscribed;
    private int _topologyChanges;
    private int _settledTopology;
    private long _nextTopologyCheck;
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
        _onMessage = OnMessage;
    }

    /// <summary>Raised for every announced write or removal: the hashed key and its new version.</summary>
    public event Action<string, long>? RecordChanged;

    /// <summary>Raised when a refresh lock is released: the hashed key.</summary>
    public event Action<string>? LockReleased;

    /// <summary>Raised when the connection fails: announcements may be missed from now on.</summary>
    public event Action? ConnectionFailed;

    /// <summary>Raised when the connection is restored: announcements made meanwhile were missed.</summary>
    public event Action? ConnectionRestored;

    /// <summary>Raised when a cluster slot moved: announcements may have been published where no one listened.</summary>
    public event Action? AnnouncementsInterrupted;

    public PitchlyRedisOptions Options { get; }

    public RedisKeyNames Names { get; }

    /// <summary>Gets a value indicating whether every announcement is being received, so cached copies may be trusted.</summary>
    public bool AnnouncementsReliable => _subscribed && _failedConnectionCount == 0 && TopologySettled();

    /// <summary>
    /// Gets the argument that makes a script announce with <c>SPUBLISH</c> (<c>"1"</c>) or <c>PUBLISH</c> (<c>""</c>);
    /// decided by <see cref="GetDatabaseAsync"/> before it returns a database for the first time.
    /// </summary>
    public RedisValue PublishMode => _sharded ? "1" : string.Empty;

    /// <summary>
    /// Gets a value indicating whether every announcement about the record hashed <paramref name="hash"/> is being
    /// received: <see cref="AnnouncementsReliable"/>, and its bucket's sharded channel still subscribed.
    /// </summary>
    public bool AnnouncementsReliableFor(string hash) => AnnouncementsReliableForBucket(RedisKeyNames.Bucket(hash));

    /// <summary>
    /// <see cref="AnnouncementsReliableFor"/> by the hash's bucket (<see cref="RedisKeyNames.Bucket"/>), for a caller that
    /// keeps it: a cache hit then reads no character of the hash.
    /// </summary>
    public bool AnnouncementsReliableForBucket(int bucket)
    {
        if (!AnnouncementsReliable)
        {
            return false;
        }

        if (!_sharded || _subscriber is not { } subscriber || _channels is not { } channels)
        {
            return true;
        }

        if (subscriber.SubscribedEndpoint(channels[bucket]) is not null)
        {
            return true;
        }

        // The node that owned the bucket's slot ended the subscription (the slot moved): until it is subscribed again
        // where the slot went, announcements about the bucket go unheard.
        TopologyChanged("a sharded subscription was ended by its node");
        return false;
    }

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        var multiplexer = _multiplexer ?? await ConnectAsync(cancellationToken);
        if (_channels is null)
        {
            ChooseAnnouncementMode(multiplexer);
        }

        if (!_subscribed)
        {
            await SubscribeAsync(multiplexer);
        }

        return multiplexer.GetDatabase();
    }

    /// <summary>
    /// Gets a database on connections of their own for replica waits (<c>WAIT</c> blocks the connection it is sent on
    /// until the replicas answer or it times out, and a lagging replica must not stall every other command of this
    /// instance), opened on first use; <see langword="null"/> when the multiplexer is the application's, whose
    /// configuration this instance does not own (the waits then go on the shared connection, in short slices).
    /// </summary>
    public async ValueTask<IDatabase?> GetAcknowledgementDatabaseAsync()
    {
        if (Volatile.Read(ref _acknowledgementMultiplexer) is { } existing)
        {
            return existing.GetDatabase();
        }

        if (!_ownsMultiplexer || _ownConfiguration is not { } configuration)
        {
            return null;
        }

        await _acknowledgementGate.WaitAsync();
        try
        {
            if (_acknowledgementMultiplexer is null)
            {
                var options = CreateConfiguration(configuration);

                // A wait may block up to the acknowledgement timeout: the command times out only after it.
                options.AsyncTimeout = ToMilliseconds(Options.OperationTimeout + Options.ReplicaAcknowledgementTimeout);
                options.SyncTimeout = options.AsyncTimeout;
                options.ClientName += "-replica-wait";
                Volatile.Write(ref _acknowledgementMultiplexer, await ConnectionMultiplexer.ConnectAsync(options));
            }

            return _acknowledgementMultiplexer!.GetDatabase();
        }
        finally
        {
            _acknowledgementGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _acknowledgementMultiplexer, null) is { } acknowledgement)
        {
            await acknowledgement.DisposeAsync();
        }

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
        _acknowledgementGate.Dispose();
    }

    /// <summary>Closes the connection when the service provider is disposed synchronously.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _acknowledgementMultiplexer, null)?.Dispose();
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
        _acknowledgementGate.Dispose();
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
                _ownConfiguration = configuration;
            }
            else
            {
                multiplexer = _services.GetService<IConnectionMultiplexer>()
                    ?? throw new InvalidOperationException(PitchlyRedisOptionsValidator.NoConnectionMessage);
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            multiplexer.HashSlotMoved += OnHashSlotMoved;
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

    /// <summary>
    /// Picks sharded pub/sub when every connected server is Redis 7 or later, classic pub/sub otherwise, once: the
    /// scripts and the subscriptions must agree for the connection's lifetime. Refused until a server is connected,
    /// whose version is then known.
    /// </summary>
    private void ChooseAnnouncementMode(IConnectionMultiplexer multiplexer)
    {
        lock (_modeGate)
        {
            if (_channels is not null)
            {
                return;
            }

            var connected = multiplexer.GetServers().Where(server => server.IsConnected).ToList();
            if (connected.Count == 0)
            {
                throw new RedisConnectionException(
                    ConnectionFailureType.UnableToConnect,
                    CommandFlags.None,
                    "No Redis server is connected yet, so the announcement channels cannot be chosen.");
            }

            var sharded = connected.All(server => server.Version >= ShardedPubSubVersion);
            _channels = Names.ChannelNames
                .Select(name => sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name))
                .ToArray();
            _sharded = sharded;
            RedisLog.AnnouncementMode(_logger, sharded ? "sharded" : "classic");
        }
    }

    private static readonly Version ShardedPubSubVersion = new(7, 0);

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

            // All the bucket channels at once (pipelined); a retry subscribes only those that failed, so no handler
            // is attached twice.
            var subscriber = multiplexer.GetSubscriber();
            var channels = _channels!;
            var pending = Enumerable.Range(0, channels.Length).Where(bucket => !_channelSubscribed[bucket]).ToList();
            var attempts = pending.Select(bucket => subscriber.SubscribeAsync(channels[bucket], _onMessage)).ToList();
            Exception? failure = null;
            for (var i = 0; i < attempts.Count; i++)
            {
                try
                {
                    await attempts[i];
                    _channelSubscribed[pending[i]] = true;
                }
                catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
                {
                    failure ??= exception;
                }
            }

            if (failure is not null)
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            _subscriber = subscriber;
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
        multiplexer.HashSlotMoved -= OnHashSlotMoved;
    }

    private async ValueTask UnsubscribeAsync(IConnectionMultiplexer multiplexer, CommandFlags flags)
    {
        try
        {
            if (_channels is not { } channels)
            {
                return;
            }

            var subscriber = multiplexer.GetSubscriber();
            await Task.WhenAll(channels.Select(channel => subscriber.UnsubscribeAsync(channel, _onMessage, flags)));
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is ObjectDisposedException)
        {
            // The handlers are removed locally before the command is sent; the server drops the channels with the connection.
        }
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        // "{hash}:{version}" announces a write or removal, "{hash}" a released lock; the hash is base64url and never
        // contains ':'.
        var text = (string?)message;
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        var separator = text.LastIndexOf(':');
        if (separator < 0)
        {
            LockReleased?.Invoke(text);
            return;
        }

        if (separator > 0
            && long.TryParse(text.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            RecordChanged?.Invoke(text[..separator], version);
        }
    }

    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e) => TopologyChanged("a redirection moved a slot");

    /// <summary>Stops trusting announcements until every bucket channel is subscribed where its slot now lives.</summary>
    private void TopologyChanged(string cause)
    {
        // Classic announcements reach every node of a cluster, wherever the subscription is.
        if (!_sharded)
        {
            return;
        }

        var settled = Volatile.Read(ref _settledTopology) == Interlocked.Increment(ref _topologyChanges) - 1;
        AnnouncementsInterrupted?.Invoke();
        if (settled)
        {
            RedisLog.SlotMoved(_logger, cause);
        }
    }

    /// <summary>
    /// Gets whether no slot moved since every bucket channel was last seen subscribed on the node its slot is routed
    /// to; while one did, checks again at most every 50 ms.
    /// </summary>
    private bool TopologySettled()
    {
        var changes = Volatile.Read(ref _topologyChanges);
        if (Volatile.Read(ref _settledTopology) == changes)
        {
            return true;
        }

        var now = Environment.TickCount64;
        if (now < Interlocked.Read(ref _nextTopologyCheck) || _subscriber is not { } subscriber
            || _channels is not { } channels || _multiplexer is not { } multiplexer)
        {
            return false;
        }

        Interlocked.Exchange(ref _nextTopologyCheck, now + 50);
        try
        {
            foreach (var channel in channels)
            {
                var subscribed = subscriber.SubscribedEndpoint(channel);
                if (subscribed is null || !subscribed.Equals(multiplexer.GetServer(new RedisKey(channel.ToString())).EndPoint))
                {
                    return false;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // No node is known for a slot yet.
            return false;
        }

        // A move seen while checking leaves the count above what was checked, so the next read checks again.
        Volatile.Write(ref _settledTopology, changes);
        return Volatile.Read(ref _topologyChanges) == changes;
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

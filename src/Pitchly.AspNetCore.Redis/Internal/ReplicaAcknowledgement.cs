using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Waits, after a write of a token record, until a replica of the primary that took it has acknowledged it, so that a
/// failover cannot roll the record back to a refresh token Pitchly has already spent.
/// </summary>
/// <remarks>
/// <para>
/// The proof does not depend on which connection carried the write. A script run on the primary after the write
/// (<c>replica-confirm.lua</c>) reads the primary's replication id and offset: the offset covers every write the primary
/// applied before it, the record's among them. The write is acknowledged once <c>INFO replication</c> of a primary with
/// the same replication id shows a replica whose acknowledged offset reached it. <c>WAIT</c> only makes that quick (the
/// primary asks its replicas for their offsets at once). As it blocks the connection it is sent on, the confirmation
/// runs on connections of its own (<see cref="RedisConnection.GetAcknowledgementDatabaseAsync"/>), so a lagging replica
/// delays only the writes that wait for it, never this instance's other commands. <c>WAIT</c> counts acknowledgements
/// of its own connection's last write, so there the script also writes a marker of the record's bucket after reading
/// the offset. With a multiplexer the application supplies, the waits share its connection, in short slices.
/// </para>
/// <para>
/// A failover between the write and the script changes the replication id; the write then counts only if the promoted
/// primary holds the version written. Every replica seen streaming within <see cref="ReplicaMemory"/> must have the
/// write (<see cref="RequiredReplicas"/>), so a primary just promoted, whose replicas are still re-attaching, waits for
/// them, and an old primary that takes writes while Sentinel promotes another replica never has them acknowledged.
/// </para>
/// <para>
/// No replica to wait for is not the same as no replica. A write counts as not needing one only when the deployment is
/// known to have none: the primary lists no replica, was never promoted from one (<c>second_repl_offset:-1</c>), keeps
/// no replication backlog (Redis frees it an hour after its last replica left), and this instance has never seen it
/// with a replica; or <see cref="PitchlyRedisOptions.AssumeNoReplicas"/> says so. Anything else — <c>INFO</c> refused, a
/// primary just promoted whose replicas have not re-attached, replicas gone — is unknown, and an unknown state counts as
/// unacknowledged: the replica a failover would promote may lack the write.
/// </para>
/// </remarks>
internal sealed class ReplicaAcknowledgement(RedisConnection connection, TimeProvider timeProvider, ILogger<ReplicaAcknowledgement> logger) : IDisposable
{
    /// <summary>How long a primary's replication state is reused before it is read again.</summary>
    private static readonly TimeSpan StateMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>How long a replica seen once keeps writes waiting for acknowledgement after it is gone.</summary>
    internal static readonly TimeSpan ReplicaMemory = TimeSpan.FromMinutes(1);

    /// <summary>The longest one <c>WAIT</c> blocks the connection it is sent on.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(25);

    /// <summary>How long to pause when <c>WAIT</c> answers at once but the offsets do not show the write yet.</summary>
    private static readonly TimeSpan PollPause = TimeSpan.FromMilliseconds(10);

    private readonly ConcurrentDictionary<EndPoint, (ReplicationState State, long ReadAt)> _states = new();

    /// <summary>When each replica was last seen streaming, by replication group (see <see cref="GroupOf"/>) and address.</summary>
    private readonly ConcurrentDictionary<(string Group, string Address), long> _replicasSeen = new();

    /// <summary>
    /// The replication groups this instance has seen with a replica, for as long as it runs: one entry per primary of the
    /// deployment (a few, or one per cluster shard), never per user.
    /// </summary>
    private readonly ConcurrentDictionary<string, bool> _groupsSeenWithReplicas = new();

    /// <summary>
    /// Why the replication state of each primary is unknown now (absent: known), as last logged: one entry per primary
    /// endpoint, removed once its state is known again.
    /// </summary>
    private readonly ConcurrentDictionary<EndPoint, string> _unknown = new();

    private LazySweepTimer? _sweeper;
    private int _severalPrimariesReported;
    private long _lastUnacknowledgedAt = long.MinValue;

    /// <summary>
    /// Gets the primary's replication id as last read (or <see cref="RedisValue.EmptyString"/>), read before a write so the
    /// confirmation can tell whether a failover came in between.
    /// </summary>
    public async ValueTask<RedisValue> BeforeWriteAsync(IDatabase database, RedisKey record)
    {
        if (connection.Options.ReplicaAcknowledgementTimeout <= TimeSpan.Zero)
        {
            return RedisValue.EmptyString;
        }

        if (PrimaryOf(database, record) is not { } server)
        {
            // Not connected: the write fails on its own.
            return RedisValue.EmptyString;
        }

        var state = await StateAsync(database, server, record);
        return state.Role == "master" ? state.ReplicationId : RedisValue.EmptyString;
    }

    /// <summary>
    /// Waits until a replica holds the write of <paramref name="version"/> to <paramref name="record"/>, within
    /// <see cref="PitchlyRedisOptions.ReplicaAcknowledgementTimeout"/>.
    /// </summary>
    public async ValueTask<ReplicaAcknowledgementOutcome> ConfirmAsync(IDatabase database, RedisKey record, RedisKey marker, long version, RedisValue replicationIdBeforeWrite)
    {
        var timeout = connection.Options.ReplicaAcknowledgementTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return ReplicaAcknowledgementOutcome.NotNeeded;
        }

        if (PrimaryOf(database, record) is not { } server)
        {
            // The connection failed right after the write: whether a replica has it is not known, unless no primary
            // this instance knows of has had a replica.
            return _groupsSeenWithReplicas.IsEmpty && _unknown.IsEmpty ? ReplicaAcknowledgementOutcome.NotNeeded : Unacknowledged();
        }

        var known = await StateAsync(database, server, record);
        if (RequiredReplicas(server).Count == 0)
        {
            return WithoutReplicas(database.Multiplexer, server, known) is null
                ? ReplicaAcknowledgementOutcome.NotNeeded
                : Unacknowledged();
        }

        if (!SinglePrimary(database.Multiplexer, server))
        {
            return Unacknowledged();
        }

        // Off the shared connection from here on, when this instance has connections of its own to wait on.
        RedisKey[] keys = [record];
        if (await connection.GetAcknowledgementDatabaseAsync() is { } own && PrimaryOf(own, record) is { } ownServer
            && ownServer.EndPoint.Equals(server.EndPoint))
        {
            database = own;
            server = ownServer;
            keys = [record, marker];
        }

        var started = timeProvider.GetTimestamp();
        var confirmed = await database.ScriptEvaluateAsync(
            RedisScripts.ReplicaConfirm,
            keys,
            [version, replicationIdBeforeWrite]);
        if (confirmed.IsNull)
        {
            return ReplicaAcknowledgementOutcome.Lost;
        }

        var confirmation = (RedisResult[])confirmed!;
        var replicationId = (string)confirmation[0]!;
        var offset = long.Parse((string)confirmation[1]!, NumberStyles.None, CultureInfo.InvariantCulture);
        while (true)
        {
            var required = RequiredReplicas(server);
            var remaining = timeout - timeProvider.GetElapsedTime(started);
            var slice = remaining < WaitSlice ? remaining : WaitSlice;
            var waited = slice > TimeSpan.Zero
                ? (long)await server.ExecuteAsync("WAIT", required.Count, Math.Max(1, (long)slice.TotalMilliseconds))
                : 0;
            var state = Remember(server, ReplicationState.Parse((string)(await database.ScriptEvaluateAsync(RedisScripts.ReplicationInfo, [record]))!));
            if (state.Role != "master" || state.ReplicationId != replicationId)
            {
                // This endpoint is no longer the primary that took the write (a failover): whether the write survived
                // is not known here.
                return ReplicaAcknowledgementOutcome.Lost;
            }

            if (state.AcknowledgedByAll(RequiredReplicas(server), offset))
            {
                // Still the one primary: the scripts ran where the write went, and the replicas counted are its own.
                return SinglePrimary(database.Multiplexer, server)
                    ? ReplicaAcknowledgementOutcome.Acknowledged
                    : Unacknowledged();
            }

            if (timeProvider.GetElapsedTime(started) >= timeout)
            {
                return Unacknowledged();
            }

            if (waited >= required.Count)
            {
                // WAIT answered for this connection's own writes, which the offsets do not show yet (the connection was
                // re-established since the write): poll the offsets instead.
                await Task.Delay(PollPause, timeProvider);
            }
        }
    }

    /// <summary>
    /// Tells whether writes to the primary owning <paramref name="probe"/> would go unconfirmed, for the health check:
    /// <see langword="null"/> when they are confirmed (or known not to need a replica), otherwise why not. A write no
    /// replica acknowledged within <see cref="ReplicaMemory"/> counts too.
    /// </summary>
    public async ValueTask<string?> UnconfirmedReasonAsync(IDatabase database, RedisKey probe)
    {
        if (connection.Options.ReplicaAcknowledgementTimeout <= TimeSpan.Zero)
        {
            return null;
        }

        if (PrimaryOf(database, probe) is { } server)
        {
            var state = await StateAsync(database, server, probe);
            if (RequiredReplicas(server).Count == 0 && WithoutReplicas(database.Multiplexer, server, state) is { } reason)
            {
                return reason;
            }
        }

        var last = Interlocked.Read(ref _lastUnacknowledgedAt);
        return last != long.MinValue && timeProvider.GetElapsedTime(last) < ReplicaMemory
            ? "a write of tokens was not acknowledged by a replica within Pitchly:Redis:ReplicaAcknowledgementTimeout lately"
            : null;
    }

    /// <summary>
    /// Decides, for a primary with no replica to wait for, whether it is known to have none: returns
    /// <see langword="null"/> if so, otherwise why its replication state is unknown (logged once per reason).
    /// </summary>
    private string? WithoutReplicas(IConnectionMultiplexer multiplexer, IServer server, ReplicationState state)
    {
        string? reason;
        if (connection.Options.AssumeNoReplicas)
        {
            reason = null;
        }
        else if (ReferenceEquals(state, ReplicationState.Unknown))
        {
            reason = "INFO replication cannot be read";
        }
        else if (state.Role != "master")
        {
            reason = $"the server taking the writes reports the role '{state.Role}'";
        }
        else if (state.ListedReplicas > 0)
        {
            reason = "a replica is attaching and does not stream yet";
        }
        else if (state.Promoted)
        {
            reason = "the primary was promoted from a replica and no replica streams from it yet";
        }
        else if (state.BacklogActive)
        {
            reason = "the primary had a replica within the last hour and none streams from it now";
        }
        else if (_groupsSeenWithReplicas.ContainsKey(GroupOf(server)))
        {
            reason = "this instance saw replicas of the primary earlier and none streams from it now";
        }
        else if (server.ServerType != ServerType.Cluster && multiplexer.GetServers().Any(candidate => candidate.IsConnected && candidate.IsReplica))
        {
            reason = "the connection knows a replica that does not stream from the primary";
        }
        else
        {
            reason = null;
        }

        if (reason is null)
        {
            _unknown.TryRemove(server.EndPoint, out _);
        }
        else if (!_unknown.TryGetValue(server.EndPoint, out var logged) || logged != reason)
        {
            _unknown[server.EndPoint] = reason;
            RedisLog.ReplicationStateUnknown(logger, Format(server.EndPoint), reason, connection.Options.UnacknowledgedWritePolicy);
        }

        return reason;
    }

    private ReplicaAcknowledgementOutcome Unacknowledged()
    {
        Interlocked.Exchange(ref _lastUnacknowledgedAt, timeProvider.GetTimestamp());
        return ReplicaAcknowledgementOutcome.Unacknowledged;
    }

    /// <summary>
    /// Whether <paramref name="server"/> is the only primary the connection knows (always true in a cluster, whose shards
    /// each have their own). While Sentinel promotes a replica, the old primary answers as a primary for seconds beside
    /// the new one, and commands may reach either: no write is counted as acknowledged until one primary is left, since
    /// which of them ran it, and so whose replicas count, is not known.
    /// </summary>
    private bool SinglePrimary(IConnectionMultiplexer multiplexer, IServer server)
    {
        if (server.ServerType == ServerType.Cluster)
        {
            return true;
        }

        var primaries = multiplexer.GetServers().Where(candidate => candidate.IsConnected && !candidate.IsReplica).ToList();
        var single = primaries.Count == 1 && primaries[0].EndPoint.Equals(server.EndPoint);
        if (!single && Interlocked.Exchange(ref _severalPrimariesReported, 1) == 0)
        {
            RedisLog.SeveralPrimaries(logger, string.Join(", ", primaries.Select(primary => Format(primary.EndPoint))));
        }
        else if (single)
        {
            Volatile.Write(ref _severalPrimariesReported, 0);
        }

        return single;
    }

    private static IServer? PrimaryOf(IDatabase database, RedisKey record)
    {
        try
        {
            return database.Multiplexer.GetServer(record, flags: CommandFlags.DemandMaster);
        }
        catch (InvalidOperationException)
        {
            // No connected server owns the key's slot now.
            return null;
        }
    }

    private async ValueTask<ReplicationState> StateAsync(IDatabase database, IServer server, RedisKey record)
    {
        var now = timeProvider.GetTimestamp();
        if (_states.TryGetValue(server.EndPoint, out var cached) && timeProvider.GetElapsedTime(cached.ReadAt, now) < StateMaxAge)
        {
            return cached.State;
        }

        RedisResult info;
        try
        {
            info = await database.ScriptEvaluateAsync(RedisScripts.ReplicationInfo, [record]);
        }
        catch (RedisServerException exception)
        {
            // INFO not permitted in scripts (some managed services, ACLs): replication cannot be seen, so writes are
            // not confirmed with replicas. Said once per endpoint, then asked again after a while.
            if (!_states.ContainsKey(server.EndPoint))
            {
                RedisLog.ReplicationStateUnreadable(logger, exception.Message);
            }

            return Remember(server, ReplicationState.Unknown);
        }

        return Remember(server, ReplicationState.Parse((string)info!));
    }

    /// <summary>Gets how many endpoints have a replication state, a reason it is unknown, or a replica seen (for tests).</summary>
    internal (int States, int Unknown, int ReplicasSeen) Tracked => (_states.Count, _unknown.Count, _replicasSeen.Count);

    /// <inheritdoc />
    public void Dispose()
    {
        var sweeper = Volatile.Read(ref _sweeper) ?? Interlocked.CompareExchange(ref _sweeper, CreateSweeper(), null) ?? _sweeper;
        sweeper.Dispose();
    }

    /// <summary>
    /// Forgets the endpoints not asked about within <see cref="ReplicaMemory"/> (a primary gone in a failover, a cluster
    /// node removed) and the replicas not seen streaming within it: one pass over the endpoints, on a timer that starts
    /// with the first state read, never on a write's path. Whether a primary was ever seen with replicas stays (one
    /// entry per primary of the deployment).
    /// </summary>
    internal void Sweep()
    {
        foreach (var entry in _states)
        {
            if (timeProvider.GetElapsedTime(entry.Value.ReadAt) >= ReplicaMemory)
            {
                _states.TryRemove(entry);
            }
        }

        foreach (var entry in _unknown)
        {
            if (!_states.ContainsKey(entry.Key))
            {
                _unknown.TryRemove(entry);
            }
        }

        foreach (var entry in _replicasSeen)
        {
            if (timeProvider.GetElapsedTime(entry.Value) >= ReplicaMemory)
            {
                _replicasSeen.TryRemove(entry);
            }
        }
    }

    private LazySweepTimer CreateSweeper() => new(timeProvider, Sweep, static () => ReplicaMemory);

    private ReplicationState Remember(IServer server, ReplicationState state)
    {
        var sweeper = Volatile.Read(ref _sweeper) ?? Interlocked.CompareExchange(ref _sweeper, CreateSweeper(), null) ?? _sweeper;
        sweeper.Start();
        var now = timeProvider.GetTimestamp();
        _states[server.EndPoint] = (state, now);
        var group = GroupOf(server);
        foreach (var replica in state.Replicas)
        {
            _replicasSeen[(group, replica.Address)] = now;
            _groupsSeenWithReplicas.TryAdd(group, true);
        }

        return state;
    }

    /// <summary>
    /// Gets the replicas a write to <paramref name="server"/> must reach: every replica of its group seen streaming
    /// within <see cref="ReplicaMemory"/>, but the server itself. All of them, not one: while Sentinel promotes a
    /// replica, the old primary keeps taking writes for a moment, and the replicas not promoted yet still acknowledge
    /// them there; the promoted one no longer does, so such a write is never counted as acknowledged.
    /// </summary>
    internal IReadOnlyList<string> RequiredReplicas(IServer server)
    {
        var group = GroupOf(server);
        var required = new List<string>();
        foreach (var ((seenGroup, address), seenAt) in _replicasSeen)
        {
            if (seenGroup != group)
            {
                continue;
            }

            if (timeProvider.GetElapsedTime(seenAt) >= ReplicaMemory)
            {
                _replicasSeen.TryRemove(KeyValuePair.Create((seenGroup, address), seenAt));
            }
            else if (!IsAddressOf(server.EndPoint, address))
            {
                required.Add(address);
            }
        }

        return required;
    }

    /// <summary>
    /// The replicas a primary's writes must reach are those of its replication group: in a Redis Cluster the shard, known
    /// here by its primary's endpoint (a replica promoted in a cluster failover starts a group of its own); otherwise the
    /// whole deployment, so that a replica Sentinel promotes inherits the group of the primary it replaced.
    /// </summary>
    private static string GroupOf(IServer server) =>
        server.ServerType == ServerType.Cluster ? Format(server.EndPoint) : string.Empty;

    private static bool IsAddressOf(EndPoint endPoint, string address) => endPoint switch
    {
        IPEndPoint ip => Format(ip) == address,

        // A host name cannot be compared with the address a replica announces: the port alone decides.
        DnsEndPoint dns => address.EndsWith(":" + dns.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
        _ => false,
    };

    private static string Format(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => string.Create(CultureInfo.InvariantCulture, $"{(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address)}:{ip.Port}"),
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        _ => endPoint.ToString() ?? string.Empty,
    };

    /// <summary>The parts of <c>INFO replication</c> the acknowledgement reads.</summary>
    internal sealed record ReplicationState(string Role, string ReplicationId, IReadOnlyList<(string Address, long Offset)> Replicas)
    {
        /// <summary>Gets the state of a primary whose replication cannot be read.</summary>
        public static ReplicationState Unknown { get; } = new(string.Empty, string.Empty, []);

        /// <summary>Gets the number of replicas the primary lists (<c>connected_slaves</c>), streaming or not.</summary>
        public int ListedReplicas { get; init; }

        /// <summary>Gets a value indicating whether the server was a replica before (<c>second_repl_offset</c> is not -1).</summary>
        public bool Promoted { get; init; }

        /// <summary>Gets a value indicating whether the server keeps a replication backlog (<c>repl_backlog_active:1</c>), as it does from its first replica on.</summary>
        public bool BacklogActive { get; init; }

        /// <summary>Whether every replica in <paramref name="required"/> is streaming and has acknowledged <paramref name="offset"/>.</summary>
        public bool AcknowledgedByAll(IReadOnlyList<string> required, long offset) =>
            required.Count > 0
            && required.All(address => Replicas.Any(replica => replica.Address == address && replica.Offset >= offset));

        /// <summary>Reads <c>role</c>, <c>master_replid</c> and each online <c>slaveN</c>'s address and acknowledged <c>offset</c>.</summary>
        public static ReplicationState Parse(string info)
        {
            var role = string.Empty;
            var replicationId = string.Empty;
            var replicas = new List<(string, long)>();
            var listed = 0;
            var promoted = false;
            var backlog = false;
            foreach (var rawLine in info.Split('\n'))
            {
                var line = rawLine.TrimEnd('\r');
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    continue;
                }

                var name = line.AsSpan(0, colon);
                var value = line.AsSpan(colon + 1);
                if (name.SequenceEqual("role"))
                {
                    role = value.ToString();
                }
                else if (name.SequenceEqual("master_replid"))
                {
                    replicationId = value.ToString();
                }
                else if (name.SequenceEqual("connected_slaves"))
                {
                    _ = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out listed);
                }
                else if (name.SequenceEqual("second_repl_offset"))
                {
                    promoted = !value.SequenceEqual("-1");
                }
                else if (name.SequenceEqual("repl_backlog_active"))
                {
                    backlog = !value.SequenceEqual("0");
                }
                else if (name.StartsWith("slave") && int.TryParse(name[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && TryReadReplica(value) is { } replica)
                {
                    replicas.Add(replica);
                }
            }

            return new ReplicationState(role, replicationId, replicas) { ListedReplicas = listed, Promoted = promoted, BacklogActive = backlog };
        }

        /// <summary>Reads <c>ip=…,port=…,state=online,offset=N,lag=…</c>; a replica not yet <c>online</c> acknowledges nothing.</summary>
        private static (string Address, long Offset)? TryReadReplica(ReadOnlySpan<char> fields)
        {
            string? ip = null;
            string? port = null;
            long? offset = null;
            var online = false;
            foreach (var range in fields.Split(','))
            {
                var field = fields[range];
                if (field.SequenceEqual("state=online"))
                {
                    online = true;
                }
                else if (field.StartsWith("ip="))
                {
                    ip = field[3..].ToString();
                }
                else if (field.StartsWith("port="))
                {
                    port = field[5..].ToString();
                }
                else if (field.StartsWith("offset=") && long.TryParse(field[7..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                {
                    offset = parsed;
                }
            }

            return online && ip is not null && port is not null && offset is { } acknowledged ? ($"{ip}:{port}", acknowledged) : null;
        }
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
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
/// primary asks its replicas for their offsets at once) and is sent in short slices, because it blocks the connection
/// every other command of this instance shares.
/// </para>
/// <para>
/// A failover between the write and the script changes the replication id; the write then counts only if the promoted
/// primary holds the version written. Every replica seen streaming within <see cref="ReplicaMemory"/> must have the
/// write (<see cref="RequiredReplicas"/>), so a primary just promoted, whose replicas are still re-attaching, waits for
/// them, and an old primary that takes writes while Sentinel promotes another replica never has them acknowledged.
/// </para>
/// </remarks>
internal sealed class ReplicaAcknowledgement(RedisConnection connection, TimeProvider timeProvider, ILogger<ReplicaAcknowledgement> logger)
{
    /// <summary>How long a primary's replication state is reused before it is read again.</summary>
    private static readonly TimeSpan StateMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>How long a replica seen once keeps writes waiting for acknowledgement after it is gone.</summary>
    internal static readonly TimeSpan ReplicaMemory = TimeSpan.FromMinutes(1);

    /// <summary>The longest one <c>WAIT</c> blocks the shared connection.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(25);

    /// <summary>How long to pause when <c>WAIT</c> answers at once but the offsets do not show the write yet.</summary>
    private static readonly TimeSpan PollPause = TimeSpan.FromMilliseconds(10);

    private readonly ConcurrentDictionary<EndPoint, (ReplicationState State, long ReadAt)> _states = new();

    /// <summary>When each replica was last seen streaming, by replication group (see <see cref="GroupOf"/>) and address.</summary>
    private readonly ConcurrentDictionary<(string Group, string Address), long> _replicasSeen = new();

    private int _severalPrimariesReported;

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
    public async ValueTask<ReplicaAcknowledgementOutcome> ConfirmAsync(IDatabase database, RedisKey record, long version, RedisValue replicationIdBeforeWrite)
    {
        var timeout = connection.Options.ReplicaAcknowledgementTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return ReplicaAcknowledgementOutcome.NotNeeded;
        }

        if (PrimaryOf(database, record) is not { } server)
        {
            // The connection failed right after the write: whether a replica has it is not known.
            return _replicasSeen.IsEmpty ? ReplicaAcknowledgementOutcome.NotNeeded : ReplicaAcknowledgementOutcome.Unacknowledged;
        }

        await StateAsync(database, server, record);
        if (RequiredReplicas(server).Count == 0)
        {
            return ReplicaAcknowledgementOutcome.NotNeeded;
        }

        if (!SinglePrimary(database.Multiplexer, server))
        {
            return ReplicaAcknowledgementOutcome.Unacknowledged;
        }

        var started = timeProvider.GetTimestamp();
        var confirmed = await database.ScriptEvaluateAsync(
            RedisScripts.ReplicaConfirm,
            [record],
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
                    : ReplicaAcknowledgementOutcome.Unacknowledged;
            }

            if (timeProvider.GetElapsedTime(started) >= timeout)
            {
                return ReplicaAcknowledgementOutcome.Unacknowledged;
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

    private ReplicationState Remember(IServer server, ReplicationState state)
    {
        var now = timeProvider.GetTimestamp();
        _states[server.EndPoint] = (state, now);
        var group = GroupOf(server);
        foreach (var replica in state.Replicas)
        {
            _replicasSeen[(group, replica.Address)] = now;
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
                else if (name.StartsWith("slave") && int.TryParse(name[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && TryReadReplica(value) is { } replica)
                {
                    replicas.Add(replica);
                }
            }

            return new ReplicationState(role, replicationId, replicas);
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

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Confirms the store's writes with the replicas (<see cref="ReplicaAcknowledgement"/>) and applies
/// <see cref="PitchlyRedisOptions.UnacknowledgedWritePolicy"/> to a write no replica confirmed: a write a failover could
/// roll back must not count as done, or another owner could present a refresh token already spent.
/// </summary>
internal sealed class ReplicatedWrites : IDisposable
{
    /// <summary>The most unacknowledged writes remembered at once; past that a retry fails as a conflict, as it did before.</summary>
    internal const int MaxRemembered = 16_384;

    private readonly RedisConnection _connection;
    private readonly ReplicaAcknowledgement _acknowledgement;
    private readonly RedisFailureReporter _failures;
    private readonly PitchlyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PitchlyRedisOptions _options;

    // Compare-and-swap writes that the primary took but no replica acknowledged, by hash and expected version; forgotten
    // once confirmed, refused, or older than ReplicaAcknowledgement.ReplicaMemory (swept by a timer that starts with the
    // first such write, whether or not the L1 runs), and never more than MaxRemembered.
    private readonly ConcurrentDictionary<(string Hash, long ExpectedVersion), (long Version, long WrittenAt)> _unacknowledged = new();
    private readonly LazySweepTimer _sweeper;
    private int _count;

    public ReplicatedWrites(
        RedisConnection connection,
        ReplicaAcknowledgement acknowledgement,
        RedisFailureReporter failures,
        PitchlyMetrics metrics,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _connection = connection;
        _acknowledgement = acknowledgement;
        _failures = failures;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _options = connection.Options;
        _sweeper = new LazySweepTimer(timeProvider, ForgetStale, static () => ReplicaAcknowledgement.ReplicaMemory);
    }

    /// <summary>Gets how many unacknowledged writes are remembered (for tests).</summary>
    internal int RememberedCount => Volatile.Read(ref _count);

    /// <summary>Gets a value indicating whether the sweep of remembered writes runs (for tests).</summary>
    internal bool Sweeping => _sweeper.Running;

    /// <summary>Reads what the confirmation of a write to <paramref name="record"/> compares with, before the write.</summary>
    public ValueTask<RedisValue> BeforeWriteAsync(IDatabase database, RedisKey record) => _acknowledgement.BeforeWriteAsync(database, record);

    /// <summary>Confirms <paramref name="written"/> with the replicas; throws if the policy says it does not count as done.</summary>
    public async ValueTask AcknowledgeAsync(PendingWrite written) => Enforce(written, await ConfirmAsync(written));

    /// <summary>
    /// As <see cref="AcknowledgeAsync"/>, for a compare-and-swap at <paramref name="expectedVersion"/>: a write that fails
    /// for want of a replica is remembered, so that <see cref="TryConfirmEarlierWriteAsync"/> recognises its retry.
    /// </summary>
    public async ValueTask AcknowledgeCompareAndSwapAsync(PendingWrite written, long expectedVersion)
    {
        var outcome = await ConfirmAsync(written);
        if (outcome == ReplicaAcknowledgementOutcome.Unacknowledged && _options.UnacknowledgedWritePolicy == PitchlyRedisUnacknowledgedWritePolicy.FailRetryably)
        {
            // The primary holds the write: a retry of the same compare-and-swap finds it there, and succeeds once a
            // replica has it too, instead of failing as a conflict with the writer's own tokens.
            Remember((written.Hash, expectedVersion), (written.Version, _timeProvider.GetTimestamp()));
        }
        else
        {
            Forget((written.Hash, expectedVersion));
        }

        Enforce(written, outcome);
    }

    /// <summary>
    /// After a compare-and-swap was refused: whether the record still holds what this store wrote at the same expected
    /// version, unacknowledged, before (a retry of that write), and a replica now has it. Returns its version if so.
    /// </summary>
    public async ValueTask<long?> TryConfirmEarlierWriteAsync(string hash, long expectedVersion, CancellationToken cancellationToken)
    {
        if (!_unacknowledged.TryGetValue((hash, expectedVersion), out var earlier))
        {
            return null;
        }

        var written = await _failures.RunAsync<PendingWrite?>("a compare-and-swap write", async () =>
        {
            var database = await _connection.GetDatabaseAsync(cancellationToken);
            var stored = await database.HashGetAsync(_connection.Names.Record(hash), "v");
            if (stored.IsNull || (long)stored != earlier.Version)
            {
                // Another write came on top of it, or a failover dropped it: the refusal stands.
                Forget((hash, expectedVersion));
                return null;
            }

            return new PendingWrite("compare-and-swap write", database, hash, earlier.Version, RedisValue.EmptyString);
        });
        if (written is not { } pending)
        {
            return null;
        }

        var outcome = await ConfirmAsync(pending);
        if (outcome != ReplicaAcknowledgementOutcome.Unacknowledged)
        {
            Forget((hash, expectedVersion));
        }

        Enforce(pending, outcome);
        return earlier.Version;
    }

    /// <summary>Forgets writes whose retries stopped long ago: they are no longer worth confirming. Runs on the timer.</summary>
    internal void ForgetStale()
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return;
        }

        foreach (var (pending, earlier) in _unacknowledged)
        {
            if (_timeProvider.GetElapsedTime(earlier.WrittenAt) >= ReplicaAcknowledgement.ReplicaMemory
                && _unacknowledged.TryRemove(KeyValuePair.Create(pending, earlier)))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _sweeper.Dispose();

    private void Remember((string Hash, long ExpectedVersion) pending, (long Version, long WrittenAt) written)
    {
        while (true)
        {
            if (_unacknowledged.TryGetValue(pending, out var previous))
            {
                if (_unacknowledged.TryUpdate(pending, written, previous))
                {
                    return;
                }

                continue; // Forgotten meanwhile: add it again.
            }

            if (Volatile.Read(ref _count) >= MaxRemembered)
            {
                return;
            }

            if (_unacknowledged.TryAdd(pending, written))
            {
                Interlocked.Increment(ref _count);
                _sweeper.Start();
                return;
            }
        }
    }

    private void Forget((string Hash, long ExpectedVersion) pending)
    {
        if (Volatile.Read(ref _count) != 0 && _unacknowledged.TryRemove(pending, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private async ValueTask<ReplicaAcknowledgementOutcome> ConfirmAsync(PendingWrite written)
    {
        if (written.Version <= 0)
        {
            return ReplicaAcknowledgementOutcome.NotNeeded;
        }

        try
        {
            return await _acknowledgement.ConfirmAsync(written.Database, _connection.Names.Record(written.Hash), _connection.Names.AcknowledgementMarker(written.Hash), written.Version, written.ReplicationId);
        }
        catch (Exception exception) when (RedisFailures.IsRedisFailure(exception))
        {
            // The primary took the write; whether a replica has it is not known.
            RedisLog.ReplicaConfirmationFailed(_logger, written.Operation, written.Hash, written.Version, exception);
            return ReplicaAcknowledgementOutcome.Unacknowledged;
        }
    }

    /// <summary>Applies <see cref="PitchlyRedisOptions.UnacknowledgedWritePolicy"/> to a write no replica confirmed.</summary>
    private void Enforce(PendingWrite written, ReplicaAcknowledgementOutcome outcome)
    {
        if (outcome == ReplicaAcknowledgementOutcome.Lost)
        {
            _metrics.UnacknowledgedWrites.Add(1, new KeyValuePair<string, object?>("outcome", "lost"));
            RedisLog.WriteLostInFailover(_logger, written.Operation, written.Hash, written.Version);
            throw RedisFailures.NotReplicated(written.Operation, lost: true);
        }

        if (outcome != ReplicaAcknowledgementOutcome.Unacknowledged)
        {
            return;
        }

        _metrics.UnacknowledgedWrites.Add(1, new KeyValuePair<string, object?>("outcome", "unacknowledged"));
        var policy = _options.UnacknowledgedWritePolicy;
        var failing = policy == PitchlyRedisUnacknowledgedWritePolicy.FailRetryably;
        RedisLog.WriteUnacknowledged(
            _logger,
            written.Operation,
            written.Hash,
            written.Version,
            _options.ReplicaAcknowledgementTimeout,
            policy,
            failing ? "it fails retryably" : "it counts as done on the primary alone");
        if (failing)
        {
            throw RedisFailures.NotReplicated(written.Operation, lost: false);
        }
    }
}

namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>
/// A token store over a shared dictionary that keeps the contract except for one <see cref="TokenStoreFault"/>: what the
/// conformance kit must reject, naming the rule the fault breaks. Every operation but the non-atomic compare-and-swap runs
/// under one lock, so the fault is the only thing wrong.
/// </summary>
public sealed class FaultyTokenStore(TokenStoreFault fault, FaultyTokenStore.Data data) : IPitchlyTokenStore
{
    public FaultyTokenStore(TokenStoreFault fault)
        : this(fault, new Data())
    {
    }

    /// <summary>What instances "over the same data" share.</summary>
    public sealed class Data
    {
        public object Gate { get; } = new();

        public Dictionary<PitchlyTokenKey, PitchlyTokenRecord> Records { get; } = [];

        public long LastVersion { get; set; }
    }

    /// <summary>Gets what this instance reads and writes.</summary>
    public Data Shared => data;

    /// <summary>Another instance over the same data (or over new data, for <see cref="TokenStoreFault.ForgetsOnNewInstance"/>).</summary>
    public FaultyTokenStore NewInstance() => new(fault, fault == TokenStoreFault.ForgetsOnNewInstance ? new Data() : data);

    public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        lock (data.Gate)
        {
            return ValueTask.FromResult(data.Records.GetValueOrDefault(key));
        }
    }

    public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        lock (data.Gate)
        {
            var current = data.Records.GetValueOrDefault(key);
            var intent = fault == TokenStoreFault.SetKeepsFence ? current?.RefreshIntent : null;
            return ValueTask.FromResult(Write(key, record with { RefreshIntent = intent }));
        }
    }

    public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        if (fault == TokenStoreFault.CompareAndSwapNotAtomic)
        {
            if ((await GetAsync(key, cancellationToken))?.Version != (expectedVersion == 0 ? null : expectedVersion))
            {
                return null;
            }

            await Task.Yield();
            lock (data.Gate)
            {
                return Write(key, record with { RefreshIntent = null });
            }
        }

        lock (data.Gate)
        {
            var current = data.Records.GetValueOrDefault(key);
            var matches = fault == TokenStoreFault.NoCompareAndSwap || (current?.Version ?? 0) == expectedVersion;
            return matches ? Write(key, record with { RefreshIntent = null }) : null;
        }
    }

    public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        lock (data.Gate)
        {
            var now = DateTimeOffset.UtcNow;
            if (data.Records.GetValueOrDefault(key) is not { } current || current.Version != expectedVersion)
            {
                return ValueTask.FromResult<PitchlyTokenRecord?>(null);
            }

            var fencedByAnother = fault switch
            {
                TokenStoreFault.FenceIgnored => false,
                TokenStoreFault.FenceNeverLapses => current.RefreshIntent is { } intent && intent.Owner != owner,
                TokenStoreFault.FenceNotExtendable => current.RefreshIntent is { } intent && intent.Deadline > now,
                _ => current.RefreshIntent is { } intent && intent.Owner != owner && intent.Deadline > now,
            };
            return ValueTask.FromResult(fencedByAnother ? null : Write(key, current with { RefreshIntent = new PitchlyRefreshIntent(owner, now + lifetime) }));
        }
    }

    public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        lock (data.Gate)
        {
            var matches = data.Records.TryGetValue(key, out var current)
                && (expectedVersion is null || fault == TokenStoreFault.NoCompareAndDelete || current.Version == expectedVersion);
            return ValueTask.FromResult(matches && data.Records.Remove(key));
        }
    }

    // Under the lock. Versions come from one counter for every key, but per record for VersionsRestartAfterRemoval.
    private PitchlyTokenRecord Write(PitchlyTokenKey key, PitchlyTokenRecord record)
    {
        var version = fault == TokenStoreFault.VersionsRestartAfterRemoval
            ? (data.Records.GetValueOrDefault(key)?.Version ?? 0) + 1
            : ++data.LastVersion;
        var stored = record with { Version = version };
        data.Records[key] = stored;
        return stored;
    }
}

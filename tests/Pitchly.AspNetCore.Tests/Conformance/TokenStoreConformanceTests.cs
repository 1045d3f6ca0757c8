using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Testing;
using Xunit;

namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>The conformance kit against the in-memory store, and against stores each broken in one way.</summary>
public sealed class TokenStoreConformanceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_in_memory_store_keeps_every_rule_of_the_kit()
    {
        var store = new InMemoryPitchlyTokenStore();

        var verified = await PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(store), cancellationToken: Cancel);

        Assert.Equal(PitchlyTokenStoreConformance.Rules, verified);
    }

    [Theory]
    [InlineData(TokenStoreFault.None)]
    [InlineData(TokenStoreFault.NoCompareAndSwap)]
    public async Task The_kit_leaves_only_the_records_it_found_in_a_shared_store_whether_the_store_passes_or_not(TokenStoreFault fault)
    {
        var store = new FaultyTokenStore(fault);
        var unrelated = PitchlyTokenKey.ForUser("org_1", "psn_alice");
        var kept = await store.SetAsync(unrelated, new PitchlyTokenRecord { AccessToken = "kept", ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, Cancel);

        var run = PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(store.NewInstance()), cancellationToken: Cancel);
        if (fault == TokenStoreFault.None)
        {
            await run;
        }
        else
        {
            await Assert.ThrowsAsync<PitchlyConformanceException>(() => run);
        }

        Assert.Equal([unrelated], store.Shared.Records.Keys);
        Assert.Equal(kept, store.Shared.Records[unrelated]);
    }

    [Theory]
    [InlineData(TokenStoreFault.NoCompareAndSwap, PitchlyConformanceRule.CompareAndSwapRefusesStaleVersion)]
    [InlineData(TokenStoreFault.NoCompareAndDelete, PitchlyConformanceRule.CompareAndDeleteRefusesStaleVersion)]
    [InlineData(TokenStoreFault.VersionsRestartAfterRemoval, PitchlyConformanceRule.VersionsNeverRepeatAfterRemoval)]
    [InlineData(TokenStoreFault.FenceIgnored, PitchlyConformanceRule.LiveFenceRefusesOtherOwners)]
    [InlineData(TokenStoreFault.FenceNeverLapses, PitchlyConformanceRule.FenceLapsesAtDeadline)]
    [InlineData(TokenStoreFault.SetKeepsFence, PitchlyConformanceRule.OtherWritesClearFence)]
    [InlineData(TokenStoreFault.CompareAndSwapNotAtomic, PitchlyConformanceRule.ConcurrentCompareAndSwapHasOneWinner)]
    [InlineData(TokenStoreFault.ForgetsOnNewInstance, PitchlyConformanceRule.DataSurvivesNewInstance)]
    [InlineData(TokenStoreFault.FenceNotExtendable, PitchlyConformanceRule.OwnerMayExtendItsOwnFence)]
    public async Task A_store_with_a_fault_is_rejected_naming_the_rule_the_fault_breaks(TokenStoreFault fault, PitchlyConformanceRule broken)
    {
        var store = new FaultyTokenStore(fault);

        var rejected = await Assert.ThrowsAsync<PitchlyConformanceException>(
            () => PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(store.NewInstance()), cancellationToken: Cancel));

        Assert.Equal(broken, rejected.Rule);
        Assert.StartsWith($"{broken}: ", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_skipped_rule_is_not_checked_and_not_reported_as_verified_while_every_other_rule_still_is()
    {
        var store = new FaultyTokenStore(TokenStoreFault.FenceNeverLapses);
        var options = new PitchlyTokenStoreConformanceOptions { SkippedRules = [PitchlyConformanceRule.FenceLapsesAtDeadline] };

        var verified = await PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(store.NewInstance()), options, Cancel);

        Assert.Equal(PitchlyTokenStoreConformance.Rules.Except([PitchlyConformanceRule.FenceLapsesAtDeadline]), verified);
    }

    [Fact]
    public async Task A_store_that_throws_is_rejected_naming_the_rule_it_was_checked_for_with_the_exception_inside()
    {
        var rejected = await Assert.ThrowsAsync<PitchlyConformanceException>(
            () => PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(new ThrowingStore()), cancellationToken: Cancel));

        Assert.Equal(PitchlyConformanceRule.ReadsReturnWhatWasWritten, rejected.Rule);
        Assert.IsType<NotSupportedException>(rejected.InnerException);
    }

    [Fact]
    public async Task A_store_call_that_never_returns_is_reported_as_a_broken_rule_after_the_rule_timeout()
    {
        var options = new PitchlyTokenStoreConformanceOptions { RuleTimeout = TimeSpan.FromMilliseconds(200) };

        var rejected = await Assert.ThrowsAsync<PitchlyConformanceException>(
            () => PitchlyTokenStoreConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyTokenStore>(new HangingStore()), options, Cancel));

        Assert.Equal(PitchlyConformanceRule.ReadsReturnWhatWasWritten, rejected.Rule);
        Assert.Contains("did not finish", rejected.Message, StringComparison.Ordinal);
    }

    private sealed class ThrowingStore : IPitchlyTokenStore
    {
        public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default) => throw new NotSupportedException("no reads here");

        public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private sealed class HangingStore : IPitchlyTokenStore
    {
        private static readonly TaskCompletionSource Never = new();

        public async ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        {
            await Never.Task; // ignores cancellation on purpose
            return null;
        }

        public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default) => ValueTask.FromResult(record);

        public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default) => ValueTask.FromResult<PitchlyTokenRecord?>(null);

        public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default) => ValueTask.FromResult<PitchlyTokenRecord?>(null);

        public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);
    }
}

using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Testing;
using Xunit;

namespace Pitchly.AspNetCore.Tests.Conformance;

/// <summary>The lock half of the conformance kit, against in-process leases: correct, and broken in one way each.</summary>
public sealed class RefreshLockConformanceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_correct_leased_lock_keeps_every_rule_of_the_kit()
    {
        var verified = await VerifyAsync(RefreshLockFault.None);

        Assert.Equal(PitchlyRefreshLockConformance.Rules, verified);
    }

    [Fact]
    public async Task Without_a_way_to_end_a_lease_the_kit_checks_every_rule_but_the_two_that_need_one()
    {
        var leases = new LeasedRefreshLock.Leases(RefreshLockFault.None);

        var verified = await PitchlyRefreshLockConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyRefreshLock>(new LeasedRefreshLock(leases)), cancellationToken: Cancel);

        Assert.Equal(
            PitchlyRefreshLockConformance.Rules.Except([PitchlyConformanceRule.LockLostSignalsLostLease, PitchlyConformanceRule.LockReleasedByOwnerOnly]),
            verified);
    }

    [Theory]
    [InlineData(RefreshLockFault.GrantsEveryone, PitchlyConformanceRule.LockAdmitsOneHolder)]
    [InlineData(RefreshLockFault.NeverSignalsLostLease, PitchlyConformanceRule.LockLostSignalsLostLease)]
    [InlineData(RefreshLockFault.ReleasesAnyHolder, PitchlyConformanceRule.LockReleasedByOwnerOnly)]
    public async Task A_lock_with_a_fault_is_rejected_naming_the_rule_the_fault_breaks(RefreshLockFault fault, PitchlyConformanceRule broken)
    {
        var rejected = await Assert.ThrowsAsync<PitchlyConformanceException>(() => VerifyAsync(fault));

        Assert.Equal(broken, rejected.Rule);
    }

    [Fact]
    public async Task The_single_instance_lock_is_not_a_lock_for_a_farm_and_the_kit_says_so()
    {
        // Granted at once by design (single flight serialises refreshes within one process): never for shared stores.
        var rejected = await Assert.ThrowsAsync<PitchlyConformanceException>(
            () => PitchlyRefreshLockConformance.VerifyAsync(_ => ValueTask.FromResult<IPitchlyRefreshLock>(new InProcessRefreshLock()), cancellationToken: Cancel));

        Assert.Equal(PitchlyConformanceRule.LockAdmitsOneHolder, rejected.Rule);
    }

    private static Task<IReadOnlyList<PitchlyConformanceRule>> VerifyAsync(RefreshLockFault fault)
    {
        var leases = new LeasedRefreshLock.Leases(fault);
        return PitchlyRefreshLockConformance.VerifyAsync(
            _ => ValueTask.FromResult<IPitchlyRefreshLock>(new LeasedRefreshLock(leases)),
            new PitchlyRefreshLockConformanceOptions
            {
                HoldDuration = TimeSpan.FromMilliseconds(200),
                GrantWithin = TimeSpan.FromSeconds(2),   // in-process leases: what is not granted or signalled by then never is
                EndLeaseAsync = (key, _) =>
                {
                    leases.End(key);
                    return ValueTask.CompletedTask;
                },
            },
            Cancel);
    }
}

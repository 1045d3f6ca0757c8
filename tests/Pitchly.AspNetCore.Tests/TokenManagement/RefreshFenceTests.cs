using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.TokenManagement;
using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;
using Xunit;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>The fence on its own, over the in-memory store and a fake clock: begin, send deadline, wait, release, clean-up.</summary>
public sealed class RefreshFenceTests : IAsyncDisposable
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    private readonly FakeTimeProvider _time = new(TestServices.Start);
    private readonly ServiceProvider _services;

    public RefreshFenceTests()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddPitchlyTokenManagement(o =>
        {
            o.FenceTimeout = TimeSpan.FromSeconds(45);
            o.TokenRequestTimeout = TimeSpan.FromSeconds(30);
            o.StoreWriteRetryTimeout = TimeSpan.FromSeconds(45);
        });
        _services = services.BuildServiceProvider();
    }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private IPitchlyTokenStore Store => _services.GetRequiredService<IPitchlyTokenStore>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    [Fact]
    public async Task Begin_writes_an_intent_of_a_new_owner_until_the_fence_timeout_and_a_second_begin_at_the_same_version_is_refused()
    {
        var stored = await SignInAsync(Store);
        var fence = Fence(Store);

        var first = await fence.TryBeginAsync(User, stored, Cancel);
        var second = await fence.TryBeginAsync(User, stored, Cancel);

        Assert.NotNull(first);
        Assert.Null(second);
        var current = await Store.GetAsync(User, Cancel);
        Assert.Equal(first.Owner, current!.RefreshIntent!.Owner);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(45), current.RefreshIntent.Deadline);
        Assert.Equal(TimeSpan.FromSeconds(15), first.SendWindow);
    }

    [Fact]
    public async Task A_request_may_be_sent_within_the_send_window_and_not_after_it_and_a_late_fence_is_released()
    {
        var stored = await SignInAsync(Store);
        var fence = Fence(Store);
        var held = (await fence.TryBeginAsync(User, stored, Cancel))!;

        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.True(await fence.CheckSendDeadlineAsync(held, Cancel));
        Assert.Equal(TimeSpan.FromSeconds(31), held.TimeLeft(_time));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await fence.CheckSendDeadlineAsync(held, Cancel));
        var current = await Store.GetAsync(User, Cancel);
        Assert.Null(current!.RefreshIntent);
        Assert.False(current.RefreshTokenMayBeSpent);
    }

    [Fact]
    public void The_send_deadline_is_also_checked_on_the_wall_clock_which_catches_up_after_a_suspended_machine()
    {
        var record = new PitchlyTokenRecord { AccessToken = "a", ExpiresAt = _time.GetUtcNow().AddHours(1) };
        var frozen = new HeldFence(User, record, _time.GetTimestamp(), _time.GetUtcNow() - TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(15));
        var fresh = frozen with { FencedAtWallClock = _time.GetUtcNow() };

        Assert.True(frozen.IsPastSendDeadline(_time));
        Assert.False(fresh.IsPastSendDeadline(_time));
    }

    [Fact]
    public async Task A_cancelled_refresh_releases_its_fence_before_sending_and_stops()
    {
        var stored = await SignInAsync(Store);
        var fence = Fence(Store);
        var held = (await fence.TryBeginAsync(User, stored, Cancel))!;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fence.CheckSendDeadlineAsync(held, new CancellationToken(canceled: true)).AsTask());
        Assert.Null((await Store.GetAsync(User, Cancel))!.RefreshIntent);
    }

    [Fact]
    public async Task Releasing_after_a_lost_answer_clears_the_intent_and_marks_the_refresh_token_as_maybe_spent()
    {
        var stored = await SignInAsync(Store);
        var fence = Fence(Store);
        var held = (await fence.TryBeginAsync(User, stored, Cancel))!;

        await fence.ReleaseAsync(held, mayBeSpent: true);

        var current = await Store.GetAsync(User, Cancel);
        Assert.Null(current!.RefreshIntent);
        Assert.True(current.RefreshTokenMayBeSpent);
        Assert.Equal(stored.RefreshToken, current.RefreshToken);
    }

    [Fact]
    public async Task A_waiter_at_another_owners_fence_returns_with_the_owners_new_record()
    {
        var stored = await SignInAsync(Store);
        var fenced = (await Store.TryBeginRefreshAsync(User, stored.Version, "another-instance", TimeSpan.FromSeconds(45), Cancel))!;
        var wait = Fence(Store).WaitAtAnotherOwnersFenceAsync(User, fenced, Cancel).AsTask();

        await AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.False(wait.IsCompleted);
        await Store.TryReplaceAsync(User, fenced.Version, fenced with { AccessToken = "access-2", RefreshToken = "refresh-2", RefreshIntent = null }, Cancel);
        await AdvanceAsync(TimeSpan.FromSeconds(1));

        var current = await wait.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal("access-2", current!.AccessToken);
    }

    [Fact]
    public async Task A_waiter_at_a_fence_whose_owner_never_returns_waits_until_its_deadline_and_no_longer()
    {
        var stored = await SignInAsync(Store);
        var fenced = (await Store.TryBeginRefreshAsync(User, stored.Version, "a-frozen-instance", TimeSpan.FromSeconds(45), Cancel))!;
        var wait = Fence(Store).WaitAtAnotherOwnersFenceAsync(User, fenced, Cancel).AsTask();

        await AdvanceAsync(TimeSpan.FromSeconds(44));
        Assert.False(wait.IsCompleted);
        await AdvanceAsync(TimeSpan.FromSeconds(2));

        var current = await wait.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.Equal(fenced.Version, current!.Version);
        Assert.False(RenewalPolicy.IsFencedByAnother(current, _time.GetUtcNow()));
    }

    [Fact]
    public async Task A_fence_that_cannot_be_released_while_the_store_is_down_is_cleared_once_it_is_back()
    {
        var store = new OutageTokenStore();
        var stored = await SignInAsync(store);
        var fence = Fence(store);
        var held = (await fence.TryBeginAsync(User, stored, Cancel))!;

        store.Down = true;
        await fence.ReleaseAsync(held, mayBeSpent: false);
        await AdvanceAsync(TimeSpan.FromSeconds(1));
        store.Down = false;

        await Eventually.HoldsAsync(
            async () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(250));
                return (await store.GetAsync(User, Cancel))!.RefreshIntent is null;
            },
            TimeSpan.FromSeconds(10),
            "the fence is cleared once the store is back");
    }

    private RefreshFence Fence(IPitchlyTokenStore store)
    {
        var logger = NullLogger.Instance;
        var pipelines = new RefreshPipelines(_time, logger);
        return new RefreshFence(
            store,
            _services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>(),
            _time,
            pipelines,
            _services.GetRequiredService<PitchlyMetrics>(),
            logger);
    }

    private async Task<PitchlyTokenRecord> SignInAsync(IPitchlyTokenStore store)
        => await store.SetAsync(User, new PitchlyTokenRecord
        {
            AccessToken = "access-1",
            RefreshToken = "refresh-1",
            IssuedAt = _time.GetUtcNow(),
            ExpiresAt = _time.GetUtcNow().AddHours(1),
            OrganizationId = User.OrganizationId,
        });

    private async Task AdvanceAsync(TimeSpan by)
    {
        var step = TimeSpan.FromMilliseconds(250);
        for (var advanced = TimeSpan.Zero; advanced < by; advanced += step)
        {
            await Task.Delay(5, Cancel);
            _time.Advance(step);
        }

        await Task.Delay(20, Cancel);
    }
}

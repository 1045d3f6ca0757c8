using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The fence covers the write of refreshed tokens: the owner extends it once Pitchly answers and before every write
/// attempt, and a fence that lapsed anyway (the owner cut off from the store) is claimed only to mark the refresh token
/// as possibly spent, so nobody presents it while the access token serves and the owner's late write still lands.
/// </summary>
public sealed class FencedWriteTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");
    private static readonly TimeSpan Fence = TimeSpan.FromSeconds(45);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_answer_that_arrives_late_in_the_fence_extends_it_so_no_other_owner_can_claim_the_record_while_the_write_is_retried()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var store = new HookedStore(time);
        await using var app = await SignInAsync(time, store);
        var (pitchly, _, _, stored, manager) = app;
        PitchlyTokenRecord? otherClaim = null;

        // Pitchly answers 40 s into the 45 s fence; the first write then meets an unreachable store for 10 s, during
        // which another instance tries to claim the record.
        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.OnFirstWrite = async inner =>
        {
            time.Advance(TimeSpan.FromSeconds(10));
            var current = (await inner.GetAsync(User, Cancel))!;
            otherClaim = await inner.TryBeginRefreshAsync(User, current.Version, "another-instance", Fence, Cancel);
            throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
        };
        var refresh = manager.RefreshAsync(User, stored.AccessToken, Cancel);
        await Eventually.HoldsAsync(() => pitchly.RefreshGrants == 1, TimeSpan.FromSeconds(15), "the grant is applied");
        time.Advance(TimeSpan.FromSeconds(40));
        pitchly.HoldTokenResponses.SetResult();

        var refreshed = await AdvanceUntilDoneAsync(time, refresh);

        Assert.Null(otherClaim);
        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        var current = (await store.GetAsync(User, Cancel))!;
        Assert.Equal(refreshed.Value, current.AccessToken);
        Assert.Null(current.RefreshIntent);
        Assert.False(current.RefreshTokenMayBeSpent);
        Assert.True(pitchly.IsRefreshTokenValid(current.RefreshToken!));
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task An_owner_cut_off_from_the_store_past_its_fence_stores_its_tokens_over_the_record_another_instance_marked_as_maybe_spent()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var store = new HookedStore(time);
        await using var app = await SignInAsync(time, store);
        var (pitchly, _, _, stored, manager) = app;

        // The owner's first write meets an unreachable store for longer than its whole fence; meanwhile another instance
        // claims the lapsed fence and marks the refresh token as possibly spent, as the token manager does.
        store.OnFirstWrite = async inner =>
        {
            time.Advance(Fence + TimeSpan.FromSeconds(5));
            var lapsed = (await inner.GetAsync(User, Cancel))!;
            var claim = (await inner.TryBeginRefreshAsync(User, lapsed.Version, "another-instance", Fence, Cancel))!;
            Assert.NotNull(await inner.TryReplaceAsync(User, claim.Version, claim with { RefreshTokenMayBeSpent = true }, Cancel));
            throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
        };

        var refreshed = await AdvanceUntilDoneAsync(time, manager.RefreshAsync(User, stored.AccessToken, Cancel));

        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        var current = (await store.GetAsync(User, Cancel))!;
        Assert.Equal(refreshed.Value, current.AccessToken);
        Assert.False(current.RefreshTokenMayBeSpent);
        Assert.Null(current.RefreshIntent);
        Assert.True(pitchly.IsRefreshTokenValid(current.RefreshToken!));
        Assert.Equal(1, pitchly.RefreshGrants);
    }

    [Fact]
    public async Task An_owner_that_writes_over_its_lapsed_fence_keeps_the_sessions_as_they_are_now_so_an_ended_session_stays_ended()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var store = new HookedStore(time);
        await using var app = await SignInAsync(time, store);
        var (pitchly, _, _, stored, manager) = app;
        var kept = new PitchlySession("ses_kept", TestServices.Start);
        var ended = new PitchlySession("ses_ended", TestServices.Start);
        stored = (await store.SetAsync(User, stored with { Sessions = [kept, ended] }, Cancel))!;

        // While the owner is cut off past its fence, a sign-out claims the lapsed fence and ends one session, keeping
        // the tokens the owner spent.
        store.OnFirstWrite = async inner =>
        {
            time.Advance(Fence + TimeSpan.FromSeconds(5));
            var lapsed = (await inner.GetAsync(User, Cancel))!;
            var claim = (await inner.TryBeginRefreshAsync(User, lapsed.Version, "a-sign-out", Fence, Cancel))!;
            Assert.NotNull(await inner.TryReplaceAsync(User, claim.Version, claim with { RefreshIntent = null, Sessions = [kept] }, Cancel));
            throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
        };

        var refreshed = await AdvanceUntilDoneAsync(time, manager.RefreshAsync(User, stored.AccessToken, Cancel));

        var current = (await store.GetAsync(User, Cancel))!;
        Assert.Equal(refreshed.Value, current.AccessToken);
        Assert.Equal([kept], current.Sessions);
        Assert.Equal(1, pitchly.RefreshGrants);
    }

    [Fact]
    public async Task An_owner_whose_record_got_newer_tokens_meanwhile_does_not_write_over_them()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var store = new HookedStore(time);
        await using var app = await SignInAsync(time, store);
        var (pitchly, _, _, stored, manager) = app;
        var (newerAccess, newerRefresh) = pitchly.Issue("psn_alice");

        // Someone stores other tokens (a new sign-in) while the owner's write cannot reach the store.
        store.OnFirstWrite = async inner =>
        {
            await inner.SetAsync(User, stored with { AccessToken = newerAccess, RefreshToken = newerRefresh }, Cancel);
            throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
        };

        var refreshed = await AdvanceUntilDoneAsync(time, manager.RefreshAsync(User, stored.AccessToken, Cancel));

        Assert.Equal(newerAccess, refreshed.Value);
        Assert.Equal(newerRefresh, (await store.GetAsync(User, Cancel))!.RefreshToken);
    }

    [Fact]
    public async Task A_renewal_that_finds_another_owners_fence_lapsed_marks_the_refresh_token_as_maybe_spent_and_serves_the_current_token_without_a_request()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, clock, services, stored, manager) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();

        // Late in the renewal window another instance fenced the record, and its fence lapsed with nothing stored.
        clock.Advance(TimeSpan.FromMinutes(57));
        await store.TryBeginRefreshAsync(User, stored.Version, "another-instance", Fence, Cancel);
        clock.Advance(Fence + TimeSpan.FromSeconds(1));

        var token = await manager.GetAccessTokenAsync(User, Cancel);

        Assert.Equal(stored.AccessToken, token.Value);
        Assert.Equal(0, pitchly.RefreshGrants);
        var marked = (await store.GetAsync(User, Cancel))!;
        Assert.True(marked.RefreshTokenMayBeSpent);
        Assert.Null(marked.RefreshIntent);
        Assert.Equal(stored.RefreshToken, marked.RefreshToken);

        // Renewals keep the current token until it expires; a rejection presents the refresh token, once.
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(User, Cancel)).Value);
        Assert.Equal(0, pitchly.RefreshGrants);
        var refreshed = await manager.RefreshAsync(User, stored.AccessToken, Cancel);
        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
        Assert.False((await store.GetAsync(User, Cancel))!.RefreshTokenMayBeSpent);
    }

    [Fact]
    public async Task A_claim_over_a_lapsed_fence_whose_refresh_token_was_spent_asks_for_a_sign_in_once_the_token_is_rejected()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, clock, services, stored, manager) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();

        // The lapsed owner did spend the refresh token, and its answer never reached the store.
        clock.Advance(TimeSpan.FromMinutes(57));
        await store.TryBeginRefreshAsync(User, stored.Version, "another-instance", Fence, Cancel);
        Assert.True(await SpendAsync(pitchly, stored.RefreshToken!));
        clock.Advance(Fence + TimeSpan.FromSeconds(1));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(User, Cancel)).Value);

        await Assert.ThrowsAsync<PitchlySignInRequiredException>(async () => await manager.RefreshAsync(User, stored.AccessToken, Cancel));
        Assert.Equal(1, pitchly.Reuses);
        Assert.Null(await store.GetAsync(User, Cancel));
    }

    private static async Task<SignedInApp<FakePitchly>> SignInAsync(FakeTimeProvider time, HookedStore store)
    {
        var pitchly = await FakePitchly.StartAsync();
        var services = TestServices.Create(pitchly, time, s => s.AddSingleton<IPitchlyTokenStore>(store), o => o.RefreshTimeout = TimeSpan.FromMinutes(5));
        var stored = await TestServices.SignInAsync(services, pitchly, User, time);
        return new(pitchly, time, services, stored, services.GetRequiredService<IPitchlyTokenManager>());
    }

    private static async Task<bool> SpendAsync(FakePitchly pitchly, string refreshToken)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(pitchly.TokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = FakePitchly.ClientId,
            ["client_secret"] = FakePitchly.ClientSecret,
        }), Cancel);
        return response.IsSuccessStatusCode;
    }

    private static async Task<PitchlyAccessToken> AdvanceUntilDoneAsync(FakeTimeProvider time, Task<PitchlyAccessToken> task)
    {
        for (var step = 0; step < 400 && !task.IsCompleted; step++)
        {
            await Task.Delay(10, Cancel);
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        return await task.WaitAsync(TimeSpan.FromSeconds(15), Cancel);
    }

    /// <summary>The in-memory store on the test's clock, whose first compare-and-swap write runs a hook instead.</summary>
    private sealed class HookedStore(TimeProvider time) : IPitchlyTokenStore
    {
        private readonly InMemoryPitchlyTokenStore _inner = new(time);
        private int _writes;

        public Func<IPitchlyTokenStore, Task<PitchlyTokenRecord?>>? OnFirstWrite { get; set; }

        public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
            => _inner.GetAsync(key, cancellationToken);

        public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
            => _inner.SetAsync(key, record, cancellationToken);

        public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _writes) == 1 && OnFirstWrite is { } hook)
            {
                return await hook(_inner);
            }

            return await _inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);
        }

        public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
            => _inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);

        public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
            => _inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }
}

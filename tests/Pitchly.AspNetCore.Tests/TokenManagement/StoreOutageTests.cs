namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The token store goes away (a Redis restart) between Pitchly issuing new tokens and their write: the only copy of
/// the new refresh token is in the refreshing process, so it must keep offering it until the store is back.
/// </summary>
public sealed class StoreOutageTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    [Fact]
    public async Task Tokens_issued_while_the_store_is_unreachable_are_stored_once_it_is_back_and_no_refresh_token_is_lost()
    {
        var store = new FlakyStore { FailingWrites = 3 };
        await using var outcome = await RefreshThroughOutageAsync(store);

        Assert.Equal(outcome.Refreshed.Value, outcome.Current.AccessToken);
        Assert.Equal(1, outcome.Pitchly.Emulator.GetStats().RefreshGrants);
        Assert.Equal(4, store.WriteAttempts);
        Assert.True(await TestServices.SpendRefreshTokenAsync(outcome.Pitchly, outcome.Current.RefreshToken!));
    }

    [Fact]
    public async Task A_write_that_landed_but_whose_answer_was_lost_is_recognised_on_retry_and_its_tokens_are_used()
    {
        var store = new FlakyStore { LandedButFailingWrites = 1 };
        await using var outcome = await RefreshThroughOutageAsync(store);

        Assert.Equal(outcome.Refreshed.Value, outcome.Current.AccessToken);
        Assert.NotEqual(outcome.Stored.AccessToken, outcome.Refreshed.Value);
        Assert.Equal(1, outcome.Pitchly.Emulator.GetStats().RefreshGrants);
        Assert.True(await TestServices.SpendRefreshTokenAsync(outcome.Pitchly, outcome.Current.RefreshToken!));
    }

    /// <summary>Signs the user in at the emulator, refreshes with <paramref name="store"/> failing as set up, and reads what it kept.</summary>
    private static async Task<Outcome> RefreshThroughOutageAsync(FlakyStore store)
    {
        var app = await TestServices.SignInAtEmulatorAsync(User, s => s.AddSingleton<IPitchlyTokenStore>(store));
        var refresh = app.Manager.RefreshAsync(User, app.Stored.AccessToken, TestContext.Current.CancellationToken);
        var refreshed = await AdvanceUntilDoneAsync(app.Time, refresh);

        var current = await store.GetAsync(User, TestContext.Current.CancellationToken);
        return new Outcome(app, refreshed, current!);
    }

    private static async Task<PitchlyAccessToken> AdvanceUntilDoneAsync(FakeTimeProvider time, Task<PitchlyAccessToken> task)
    {
        for (var step = 0; step < 200 && !task.IsCompleted; step++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        return await task;
    }

    private sealed record Outcome(SignedInApp<PitchlyEmulatorServer> App, PitchlyAccessToken Refreshed, PitchlyTokenRecord Current) : IAsyncDisposable
    {
        public PitchlyEmulatorServer Pitchly => App.Pitchly;

        public PitchlyTokenRecord Stored => App.Stored;

        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    /// <summary>An in-memory store whose compare-and-swap writes fail as an unreachable Redis would.</summary>
    private sealed class FlakyStore : IPitchlyTokenStore
    {
        private readonly InMemoryPitchlyTokenStore _inner = new();
        private int _writeAttempts;

        public int FailingWrites { get; init; }

        public int LandedButFailingWrites { get; init; }

        public int WriteAttempts => Volatile.Read(ref _writeAttempts);

        public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
            => _inner.GetAsync(key, cancellationToken);

        public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
            => _inner.SetAsync(key, record, cancellationToken);

        public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
        {
            var attempt = Interlocked.Increment(ref _writeAttempts);
            if (attempt <= FailingWrites)
            {
                throw new PitchlyTokenStoreUnavailableException("The token store could not be reached (test).");
            }

            var stored = await _inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);
            if (attempt <= LandedButFailingWrites)
            {
                throw new PitchlyTokenStoreUnavailableException("The token store's answer was lost (test).");
            }

            return stored;
        }

        public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
            => _inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);

        public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
            => _inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }
}

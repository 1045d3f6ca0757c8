using Microsoft.Extensions.Primitives;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The hot path's shortcut for records held in memory (<see cref="HeldRecord"/>, the Redis store's L1 entries) answers
/// what the record itself answers: the same serving decision as <see cref="RenewalPolicy"/>, the same token; and the
/// token manager's hot path follows options changed at run time. (The Redis store's side is in its own tests.)
/// </summary>
public sealed class HeldRecordTests
{
    private static readonly PitchlyTokenKey Ada = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void Serves_answers_as_the_renewal_policy_at_and_around_every_boundary()
    {
        var start = TestServices.Start;
        TimeSpan[] lifetimes = [TimeSpan.FromHours(1), TimeSpan.FromMinutes(4).Add(TimeSpan.FromTicks(1)), TimeSpan.FromSeconds(10), TimeSpan.FromTicks(3)];
        TimeSpan[] windows = [TimeSpan.FromTicks(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5), TimeSpan.FromHours(2)];
        var compared = 0;
        foreach (var lifetime in lifetimes)
        {
            foreach (var offset in new[] { TimeSpan.Zero, TimeSpan.FromHours(2) })
            {
                var expiresAt = start.Add(lifetime).ToOffset(offset);
                foreach (var issuedAt in new DateTimeOffset?[] { start, null })
                {
                    foreach (var mayBeSpent in new[] { false, true })
                    {
                        var record = new PitchlyTokenRecord { AccessToken = "at", ExpiresAt = expiresAt, IssuedAt = issuedAt, RefreshTokenMayBeSpent = mayBeSpent };
                        var held = new Held(record);
                        Assert.Equal(record.ToAccessToken(), held.ToAccessToken());
                        foreach (var window in windows)
                        {
                            var options = new PitchlyTokenManagementOptions { RefreshBeforeExpiry = window };
                            var renewsAt = expiresAt - (mayBeSpent ? TimeSpan.Zero : RenewalPolicy.RenewalWindow(record, options));
                            foreach (var now in new[] { start, renewsAt.AddTicks(-1), renewsAt, renewsAt.AddTicks(1), expiresAt.AddTicks(-1), expiresAt, expiresAt.AddDays(1) })
                            {
                                Assert.Equal(RenewalPolicy.Serves(record, now, options), held.Serves(now, options));
                                compared++;
                            }
                        }
                    }
                }
            }
        }

        Assert.Equal(lifetimes.Length * 2 * 2 * 2 * windows.Length * 7, compared);
    }

    [Fact]
    public void A_record_issued_after_it_expires_is_left_to_the_renewal_policy()
    {
        // Its renewal window is negative: the shortcut declines, and the hot path asks the policy on the record itself.
        var record = new PitchlyTokenRecord { AccessToken = "at", ExpiresAt = TestServices.Start, IssuedAt = TestServices.Start.AddHours(1) };
        var options = new PitchlyTokenManagementOptions { RefreshBeforeExpiry = TimeSpan.FromMinutes(5) };
        var now = TestServices.Start.AddMinutes(10);

        Assert.True(RenewalPolicy.Serves(record, now, options));
        Assert.False(new Held(record).Serves(now, options));
    }

    [Fact]
    public async Task A_renewal_window_widened_at_run_time_applies_to_the_next_call_on_a_cached_token()
    {
        var window = TimeSpan.FromMinutes(5);
        var changes = new ManualChangeSource();
        HeldInMemoryStore? store = null;
        await using var app = await TestServices.SignInAtEmulatorAsync(
            Ada,
            services =>
            {
                services.AddSingleton<IOptionsChangeTokenSource<PitchlyTokenManagementOptions>>(changes);

                // The in-memory store behind a wrapper that counts the held reads (each a new entry), so the test
                // knows the hot path decided on held entries.
                services.AddSingleton<IPitchlyTokenStore>(provider => store = new HeldInMemoryStore(new InMemoryPitchlyTokenStore(provider.GetRequiredService<TimeProvider>())));
            },
            options => options.RefreshBeforeExpiry = window);
        var (pitchly, time, _, stored, manager) = app;

        // Ten minutes left, outside a five-minute window: served as stored.
        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(Ada, Cancel)).Value);
        Assert.Equal(0, pitchly.Emulator.GetStats().RefreshGrants);

        // A 25-minute window: ten minutes left is late in it, so the call waits for the renewal.
        window = TimeSpan.FromMinutes(25);
        changes.Change();
        var renewed = await manager.GetAccessTokenAsync(Ada, Cancel);

        Assert.NotEqual(stored.AccessToken, renewed.Value);
        Assert.Equal(1, pitchly.Emulator.GetStats().RefreshGrants);
        Assert.True(store!.HeldReads > 0);
    }

    private sealed class Held(PitchlyTokenRecord record) : HeldRecord(PitchlyTokenKey.ForUser("org_1", "psn_1"), record);

    /// <summary>A store whose reads hand the token manager held entries (a new one a read: for tests only).</summary>
    private sealed class HeldInMemoryStore(InMemoryPitchlyTokenStore inner) : IPitchlyTokenStore, IHeldRecordStore
    {
        private int _heldReads;

        public int HeldReads => Volatile.Read(ref _heldReads);

        public HeldRecord? TryGetHeld(PitchlyTokenKey key, DateTimeOffset now)
        {
            Interlocked.Increment(ref _heldReads);
            var read = inner.GetAsync(key);
            return read.IsCompletedSuccessfully && read.Result is { } record ? new Held(record) : null;
        }

        public ValueTask<PitchlyTokenRecord?> GetUnheldAsync(PitchlyTokenKey key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

        public ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default) => inner.SetAsync(key, record, cancellationToken);

        public ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default) =>
            inner.TryReplaceAsync(key, expectedVersion, record, cancellationToken);

        public ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default) =>
            inner.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken);

        public ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default) =>
            inner.RemoveAsync(key, expectedVersion, cancellationToken);
    }

    /// <summary>Tells the options monitor that the options changed, as a configuration reload would.</summary>
    private sealed class ManualChangeSource : IOptionsChangeTokenSource<PitchlyTokenManagementOptions>
    {
        private CancellationTokenSource _current = new();

        public string Name => Options.DefaultName;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(_current.Token);

        public void Change() => Interlocked.Exchange(ref _current, new CancellationTokenSource()).Cancel();
    }
}

using Microsoft.Extensions.Primitives;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The hot path's shortcut for records held in memory (<see cref="HeldRecord"/>, <see cref="IHeldRecordStore"/>) answers
/// what the record itself answers: the same serving decision as <see cref="RenewalPolicy"/>, the same token, the same
/// record as the store's <c>GetAsync</c>, and it follows options changed at run time.
/// </summary>
public sealed class HeldRecordTests
{
    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");
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
    public async Task The_in_memory_store_hands_the_hot_path_the_record_its_read_returns_through_writes_removal_and_expiry()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPitchlyTokenManagement(o => o.InMemoryRecordTimeToLive = TimeSpan.FromMinutes(10));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IPitchlyTokenStore>();
        var held = Assert.IsAssignableFrom<IHeldRecordStore>(store);

        await AgreesAsync(null);
        var first = await store.SetAsync(Alice, Record("at_1", time), Cancel);
        await AgreesAsync(first);
        var second = await store.SetAsync(Alice, Record("at_2", time), Cancel);
        await AgreesAsync(second);
        var replaced = await store.TryReplaceAsync(Alice, second.Version, Record("at_3", time) with { RefreshTokenMayBeSpent = true }, Cancel);
        await AgreesAsync(replaced);
        var fenced = await store.TryBeginRefreshAsync(Alice, replaced!.Version, "owner", TimeSpan.FromMinutes(1), Cancel);
        await AgreesAsync(fenced);
        Assert.True(await store.RemoveAsync(Alice, cancellationToken: Cancel));
        await AgreesAsync(null);
        var again = await store.SetAsync(Alice, Record("at_4", time), Cancel);
        await AgreesAsync(again);

        // Idle for the time-to-live: gone for both reads (the first finds it expired and removes it).
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(held.TryGetHeld(Alice));
        Assert.Null(await held.GetUnheldAsync(Alice, Cancel));
        Assert.Null(await store.GetAsync(Alice, Cancel));

        async Task AgreesAsync(PitchlyTokenRecord? expected)
        {
            var entry = held.TryGetHeld(Alice);
            if (expected is null)
            {
                Assert.Null(entry);
                Assert.Null(await held.GetUnheldAsync(Alice, Cancel));
            }
            else
            {
                Assert.NotNull(entry);
                Assert.Same(await store.GetAsync(Alice, Cancel), entry.Record);
                Assert.Equal(expected, entry.Record);
                Assert.Equal(expected.ToAccessToken(), entry.ToAccessToken());
            }
        }
    }

    [Fact]
    public async Task A_renewal_window_widened_at_run_time_applies_to_the_next_call_on_a_cached_token()
    {
        var window = TimeSpan.FromMinutes(5);
        var changes = new ManualChangeSource();
        await using var app = await TestServices.SignInAtEmulatorAsync(
            Ada,
            services => services.AddSingleton<IOptionsChangeTokenSource<PitchlyTokenManagementOptions>>(changes),
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
    }

    private static PitchlyTokenRecord Record(string accessToken, FakeTimeProvider time) => new()
    {
        AccessToken = accessToken,
        RefreshToken = "rt_" + accessToken,
        IssuedAt = time.GetUtcNow(),
        ExpiresAt = time.GetUtcNow().AddHours(1),
    };

    private sealed class Held(PitchlyTokenRecord record) : HeldRecord(record);

    /// <summary>Tells the options monitor that the options changed, as a configuration reload would.</summary>
    private sealed class ManualChangeSource : IOptionsChangeTokenSource<PitchlyTokenManagementOptions>
    {
        private CancellationTokenSource _current = new();

        public string Name => Options.DefaultName;

        public IChangeToken GetChangeToken() => new CancellationChangeToken(_current.Token);

        public void Change() => Interlocked.Exchange(ref _current, new CancellationTokenSource()).Cancel();
    }
}

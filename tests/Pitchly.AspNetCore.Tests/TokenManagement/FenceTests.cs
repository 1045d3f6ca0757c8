using System.Diagnostics;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// The fence in the token record: whoever presents a refresh token first writes that it is doing so, and nobody else
/// presents it while that intent lives, whatever the lock, the clocks or a frozen owner do.
/// </summary>
public sealed class FenceTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_refresh_that_finds_another_owners_live_fence_waits_for_its_tokens_and_never_presents_the_refresh_token()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, stored, _) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();

        // Another instance fenced the record and is spending its refresh token.
        var fenced = await store.TryBeginRefreshAsync(User, stored.Version, "another-instance", TimeSpan.FromSeconds(45), Cancel);
        Assert.NotNull(fenced);
        var refresh = services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, Cancel);
        await AdvanceAsync(time, TimeSpan.FromSeconds(2));
        Assert.False(refresh.IsCompleted);

        // Its tokens arrive; the waiter takes them.
        var (access, refreshToken) = pitchly.Issue("psn_alice");
        await store.TryReplaceAsync(User, fenced!.Version, stored with { AccessToken = access, RefreshToken = refreshToken, ExpiresAt = time.GetUtcNow().AddHours(1) }, Cancel);
        var result = await AdvanceUntilDoneAsync(time, refresh);

        Assert.Equal(access, result.Value);
        Assert.Equal(0, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task A_fence_whose_owner_never_returns_lapses_at_its_deadline_and_its_refresh_token_is_then_spent_once()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User, options: o => o.RefreshTimeout = TimeSpan.FromMinutes(2));
        var (pitchly, time, services, stored, _) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();
        await store.TryBeginRefreshAsync(User, stored.Version, "a-frozen-instance", TimeSpan.FromSeconds(45), Cancel);

        var refresh = services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, Cancel);
        await AdvanceAsync(time, TimeSpan.FromSeconds(44));
        Assert.False(refresh.IsCompleted);
        Assert.Equal(0, pitchly.RefreshGrants);

        var result = await AdvanceUntilDoneAsync(time, refresh);

        Assert.NotEqual(stored.AccessToken, result.Value);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
        Assert.Null((await store.GetAsync(User, Cancel))!.RefreshIntent);
    }

    [Fact]
    public async Task A_renewal_that_finds_another_owners_fence_serves_the_current_token_without_a_request()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, stored, _) = app;
        time.Advance(TimeSpan.FromMinutes(57));
        await services.GetRequiredService<IPitchlyTokenStore>().TryBeginRefreshAsync(User, stored.Version, "another-instance", TimeSpan.FromSeconds(45), Cancel);

        var token = await services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(User, Cancel);

        Assert.Equal(stored.AccessToken, token.Value);
        Assert.Equal(0, pitchly.RefreshGrants);
    }

    [Fact]
    public async Task A_refresh_whose_answer_is_lost_keeps_serving_the_current_token_and_presents_the_refresh_token_again_only_once_it_expired()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, stored, manager) = app;
        var store = services.GetRequiredService<IPitchlyTokenStore>();

        // Pitchly rotates the refresh token, but its answer never arrives.
        pitchly.TokenEndpointOverride = context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };
        time.Advance(TimeSpan.FromMinutes(56));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(User, Cancel)).Value);

        // The renewal runs in the background while the call goes on with the current token. It marks the record before
        // it settles: a call made in between would join it and get its failure, so wait for both.
        await Eventually.HoldsAsync(
            async () => (await store.GetAsync(User, Cancel))!.RefreshTokenMayBeSpent && !((PitchlyTokenManager)manager).IsRefreshing(User),
            TimeSpan.FromSeconds(10),
            "the lost answer is recorded and the renewal has settled");
        Assert.Equal(1, pitchly.RefreshGrants);
        var marked = (await store.GetAsync(User, Cancel))!;
        Assert.True(marked.RefreshTokenMayBeSpent);
        Assert.Null(marked.RefreshIntent);
        Assert.Equal(stored.RefreshToken, marked.RefreshToken);

        // Inside the renewal window, the user keeps working on the token that still serves, and nothing is sent.
        pitchly.TokenEndpointOverride = null;
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(stored.AccessToken, (await manager.GetAccessTokenAsync(User, Cancel)).Value);
        Assert.Equal(0, pitchly.Reuses);

        // Once it expired, the possibly spent refresh token is presented once: it was spent, so the user signs in again.
        time.Advance(TimeSpan.FromMinutes(2));
        await Assert.ThrowsAsync<PitchlySignInRequiredException>(async () => await manager.GetAccessTokenAsync(User, Cancel));
        Assert.Equal(1, pitchly.Reuses);
        Assert.Null(await store.GetAsync(User, Cancel));
    }

    [Fact]
    public async Task A_holder_that_stalls_between_its_fence_and_its_request_past_the_send_window_sends_nothing_and_tries_again()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var refreshLock = new RecordingLock { OnFirstExtend = () => time.Advance(TimeSpan.FromSeconds(20)) };
        await using var services = TestServices.Create(pitchly, time, s => s.AddSingleton<IPitchlyRefreshLock>(refreshLock));
        var stored = await TestServices.SignInAsync(services, pitchly, User, time);

        var refreshed = await services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, Cancel);

        // The first pass froze for 20 s after its fence, past the 15 s send window (45 s fence − 30 s request): it
        // sent nothing and cleared its fence; the second pass refreshed.
        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        Assert.Equal(2, refreshLock.Acquisitions);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
        Assert.Null((await services.GetRequiredService<IPitchlyTokenStore>().GetAsync(User, Cancel))!.RefreshIntent);
    }

    [Fact]
    public async Task The_lock_is_extended_over_the_fence_before_the_request_and_released_before_refreshed_handlers_run()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var refreshLock = new RecordingLock();
        var handler = new LockObservingHandler(refreshLock);
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddSingleton<IPitchlyRefreshLock>(refreshLock);
            s.AddSingleton<IPitchlyTokenRefreshedHandler>(handler);
        });
        var stored = await TestServices.SignInAsync(services, pitchly, User, time);

        await services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, Cancel);
        await Eventually.HoldsAsync(() => handler.Calls == 1, TimeSpan.FromSeconds(15), "the token endpoint is called");

        Assert.Equal([TimeSpan.FromSeconds(45)], refreshLock.Extensions);
        Assert.False(handler.LockHeldDuringCall);
    }

    [Fact]
    public async Task The_shared_refresh_runs_outside_the_first_callers_execution_context_and_links_to_its_span()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var handler = new ContextObservingHandler();
        await using var services = TestServices.Create(pitchly, time, s =>
        {
            s.AddSingleton<IPitchlyTokenRefreshedHandler>(handler);
            s.AddHttpContextAccessor();
        });
        var stored = await TestServices.SignInAsync(services, pitchly, User, time);
        var refreshSpans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Pitchly.AspNetCore" or "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity =>
            {
                if (activity.OperationName == "Pitchly token refresh")
                {
                    lock (refreshSpans)
                    {
                        refreshSpans.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test");

        var accessor = services.GetRequiredService<IHttpContextAccessor>();
        accessor.HttpContext = new DefaultHttpContext();
        ContextObservingHandler.Ambient.Value = "the caller's";
        using (var caller = source.StartActivity("caller"))
        {
            await services.GetRequiredService<IPitchlyTokenManager>().RefreshAsync(User, stored.AccessToken, Cancel);
            await Eventually.HoldsAsync(() => handler.Calls == 1, TimeSpan.FromSeconds(15), "the token endpoint is called");

            // Other tests refresh in parallel: this refresh's span is the one linked to this caller.
            Activity span;
            lock (refreshSpans)
            {
                span = Assert.Single(refreshSpans, s => s.Links.Any(link => link.Context.SpanId == caller!.SpanId));
            }

            Assert.Null(span.Parent);
            Assert.NotEqual(caller!.TraceId, span.TraceId);
        }

        Assert.Null(handler.SeenAmbient);
        Assert.False(handler.SawHttpContext);
    }

    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by)
    {
        var step = TimeSpan.FromMilliseconds(250);
        for (var advanced = TimeSpan.Zero; advanced < by; advanced += step)
        {
            await Task.Delay(5, Cancel);
            time.Advance(step);
        }

        await Task.Delay(20, Cancel);
    }

    private static async Task<PitchlyAccessToken> AdvanceUntilDoneAsync(FakeTimeProvider time, Task<PitchlyAccessToken> task)
    {
        for (var step = 0; step < 1000 && !task.IsCompleted; step++)
        {
            await Task.Delay(5, Cancel);
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        return await task.WaitAsync(TimeSpan.FromSeconds(15), Cancel);
    }

    /// <summary>A refresh lock that grants at once and records how it is used.</summary>
    private sealed class RecordingLock : IPitchlyRefreshLock
    {
        private int _acquisitions;
        private int _held;

        public Action? OnFirstExtend { get; set; }

        public int Acquisitions => Volatile.Read(ref _acquisitions);

        public bool Held => Volatile.Read(ref _held) > 0;

        public List<TimeSpan> Extensions { get; } = [];

        public ValueTask<IPitchlyRefreshLockHandle> AcquireAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _acquisitions);
            Interlocked.Increment(ref _held);
            return ValueTask.FromResult<IPitchlyRefreshLockHandle>(new Handle(this));
        }

        private sealed class Handle(RecordingLock owner) : IPitchlyRefreshLockHandle
        {
            public CancellationToken LockLost => CancellationToken.None;

            public ValueTask<bool> ExtendAsync(TimeSpan duration, CancellationToken cancellationToken = default)
            {
                owner.Extensions.Add(duration);
                var stall = owner.OnFirstExtend;
                owner.OnFirstExtend = null;
                stall?.Invoke();
                return ValueTask.FromResult(true);
            }

            public ValueTask DisposeAsync()
            {
                Interlocked.Decrement(ref owner._held);
                return ValueTask.CompletedTask;
            }
        }
    }

    private sealed class LockObservingHandler(RecordingLock refreshLock) : IPitchlyTokenRefreshedHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public bool LockHeldDuringCall { get; private set; }

        public ValueTask OnTokenRefreshedAsync(PitchlyTokenRefreshedContext context, CancellationToken cancellationToken)
        {
            LockHeldDuringCall = refreshLock.Held;
            Interlocked.Increment(ref _calls);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ContextObservingHandler : IPitchlyTokenRefreshedHandler
    {
        public static readonly AsyncLocal<string?> Ambient = new();
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string? SeenAmbient { get; private set; } = "not called";

        public bool SawHttpContext { get; private set; } = true;

        public ValueTask OnTokenRefreshedAsync(PitchlyTokenRefreshedContext context, CancellationToken cancellationToken)
        {
            SeenAmbient = Ambient.Value;
            SawHttpContext = new HttpContextAccessor().HttpContext is not null;
            Interlocked.Increment(ref _calls);
            return ValueTask.CompletedTask;
        }
    }
}

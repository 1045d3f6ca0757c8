namespace Pitchly.AspNetCore.Redis.Tests.Telemetry;

/// <summary>Runs alone: an <see cref="ActivityListener"/> hears every span of the process.</summary>
[CollectionDefinition(nameof(SpanCollection), DisableParallelization = true)]
public sealed class SpanCollection;

[Collection(nameof(SpanCollection))]
public sealed class SpanTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = $"s{Guid.NewGuid():N}"[..12];
    private readonly string _keyRing = Directory.CreateTempSubdirectory("pitchly-keys-").FullName;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private PitchlyEmulatorServer _emulator = null!;
    private ActivityListener _listener = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PitchlyTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task A_refresh_in_Redis_mode_is_a_span_whose_children_are_the_lock_wait_and_the_token_request()
    {
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(_emulator, PitchlyEmulatorDefaults.GraceHopperPersonId);
        await using var instance = EmulatedInstance.Create(redis, _emulator, _prefix, _keyRing, key);
        await instance.Store.SetAsync(key, record, Cancel);
        _stopped.Clear();

        _emulator.Emulator.InvalidateAccessTokens();
        var answer = await instance.GraphQL.SendAsync<ViewerData>(new("{ viewer { person { id } } }"), Cancel);

        Assert.Equal(key.PersonId, answer.GetDataOrThrow().Viewer.Person.Id);

        // The callers get their token before the shared refresh releases the lock, so its span may end just after.
        await Eventually.HoldsAsync(
            () => Task.FromResult(_stopped.Any(s => s.DisplayName == "Pitchly token refresh")),
            TimeSpan.FromSeconds(5),
            "the refresh span ends");
        var spans = _stopped.ToArray();
        var refresh = Assert.Single(spans, s => s.DisplayName == "Pitchly token refresh");
        var lockWait = Assert.Single(spans, s => s.DisplayName == "Pitchly refresh lock wait");
        var tokenRequest = Assert.Single(spans, s => s.DisplayName == "Pitchly token request");
        Assert.Equal(PitchlyTelemetry.ActivitySourceName, refresh.Source.Name);
        Assert.Equal("User", refresh.GetTagItem("pitchly.token.kind"));
        foreach (var child in new[] { lockWait, tokenRequest })
        {
            Assert.Equal(refresh.TraceId, child.TraceId);
            Assert.Equal(refresh.SpanId, child.ParentSpanId);
            Assert.True(child.StartTimeUtc >= refresh.StartTimeUtc && child.StartTimeUtc + child.Duration <= refresh.StartTimeUtc + refresh.Duration);
        }

        Assert.True(lockWait.StartTimeUtc + lockWait.Duration <= tokenRequest.StartTimeUtc, "The token request is sent under the lock, after the wait.");
        Assert.Equal("refresh_token", tokenRequest.GetTagItem("pitchly.oauth.grant_type"));
        Assert.Equal(200, tokenRequest.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Unset, lockWait.Status);
    }

    [Fact]
    public async Task A_lock_wait_that_times_out_is_a_span_with_error_status()
    {
        var key = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);
        await using var holder = EmulatedInstance.Create(redis, _emulator, _prefix, _keyRing, key);
        await using var waiter = EmulatedInstance.Create(redis, _emulator, _prefix, _keyRing, key, o => o.LockWaitTimeout = TimeSpan.FromMilliseconds(200));
        var holderLock = (IPitchlyRefreshLock)holder.Services.GetService(typeof(IPitchlyRefreshLock))!;
        var waiterLock = (IPitchlyRefreshLock)waiter.Services.GetService(typeof(IPitchlyRefreshLock))!;
        await using var held = await holderLock.AcquireAsync(key, Cancel);
        _stopped.Clear();

        await Assert.ThrowsAsync<PitchlyRefreshLockTimeoutException>(async () => await waiterLock.AcquireAsync(key, Cancel));

        var wait = Assert.Single(_stopped, s => s.DisplayName == "Pitchly refresh lock wait");
        Assert.Equal(ActivityStatusCode.Error, wait.Status);
    }
}

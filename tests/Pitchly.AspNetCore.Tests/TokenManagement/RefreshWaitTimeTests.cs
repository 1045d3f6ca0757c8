using System.Diagnostics.Metrics;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// <c>pitchly.token.refresh.wait_time</c>: one measurement per call that waited for a shared refresh, recorded in that
/// call's own context (a listener can attribute it to the call: the load harness marks exactly those calls with it).
/// </summary>
public sealed class RefreshWaitTimeTests
{
    private const string InstrumentName = "pitchly.token.refresh.wait_time";
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");
    private static readonly AsyncLocal<string?> CurrentCall = new();

    [Fact]
    public async Task Three_calls_sharing_one_refresh_each_record_their_wait_in_their_own_context_and_a_call_served_from_the_store_records_none()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (pitchly, time, services, _, manager) = app;
        using var waits = Listen(services);

        var served = await CallAsync(manager, "served");
        Assert.Empty(waits.Seen);

        // Expired, so nobody may use the current token: every caller waits for the one refresh, held at the token endpoint.
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        pitchly.HoldTokenResponses = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new[] { CallAsync(manager, "a"), CallAsync(manager, "b"), CallAsync(manager, "c") };
        Assert.All(calls, call => Assert.False(call.IsCompleted));
        pitchly.HoldTokenResponses.SetResult();
        var tokens = await Task.WhenAll(calls);

        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Single(tokens.Select(t => t.Value).Distinct());
        Assert.NotEqual(served.Value, tokens[0].Value);
        Assert.Equal(["a", "b", "c"], waits.Seen.Select(w => w.Call).Order(StringComparer.Ordinal));
        Assert.All(waits.Seen, w =>
        {
            Assert.Equal("renewal", w.Reason);
            Assert.Equal("User", w.Kind);
            Assert.True(w.Milliseconds >= 0);
        });
    }

    [Fact]
    public async Task A_call_whose_token_was_rejected_records_its_wait_for_the_refresh_before_its_replay_as_rejected()
    {
        await using var app = await TestServices.SignInAtFakeAsync(User);
        var (_, _, services, stored, manager) = app;
        using var waits = Listen(services);

        CurrentCall.Value = "rejected call";
        var refreshed = await manager.RefreshAsync(User, stored.AccessToken, TestContext.Current.CancellationToken);
        CurrentCall.Value = null;

        Assert.NotEqual(stored.AccessToken, refreshed.Value);
        var wait = Assert.Single(waits.Seen);
        Assert.Equal(("rejected call", "rejected", "User"), (wait.Call, wait.Reason, wait.Kind));
    }

    private static async Task<PitchlyAccessToken> CallAsync(IPitchlyTokenManager manager, string name)
    {
        // An async method: the value set here belongs to this call's context only.
        CurrentCall.Value = name;
        return await manager.GetAccessTokenAsync(User, TestContext.Current.CancellationToken);
    }

    private static WaitListener Listen(IServiceProvider services) => new(services.GetRequiredService<IMeterFactory>());

    private sealed class WaitListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string? Call, string? Reason, string? Kind, double Milliseconds)> _seen = new();

        public WaitListener(IMeterFactory meterFactory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                // Only this provider's meter: other tests record on their own at the same time.
                if (instrument.Name == InstrumentName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                string? reason = null, kind = null;
                foreach (var tag in tags)
                {
                    reason = tag.Key == "pitchly.token.refresh.reason" ? (string?)tag.Value : reason;
                    kind = tag.Key == "pitchly.token.kind" ? (string?)tag.Value : kind;
                }

                _seen.Enqueue((CurrentCall.Value, reason, kind, value));
            });
            _listener.Start();
        }

        public IReadOnlyList<(string? Call, string? Reason, string? Kind, double Milliseconds)> Seen => [.. _seen];

        public void Dispose() => _listener.Dispose();
    }
}

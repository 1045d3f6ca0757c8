using System.Net;
using System.Text;
using Microsoft.Coyote.Runtime;
using Microsoft.Coyote.Specifications;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// One app instance of the farm: a real <see cref="PitchlyTokenManager"/> over the shared store and lock, its token
/// requests answered by the endpoint model. Every store, lock and transport call is a scheduling point where the
/// instance may also freeze.
/// </summary>
internal sealed class FarmInstance
{
    private readonly Farm _farm;
    private readonly TaskCompletionSource _crashed = new();

    public FarmInstance(Farm farm, int number, IPitchlyTokenStore sharedStore)
    {
        _farm = farm;
        Name = $"i{number}";
        SharedStore = sharedStore;
        Clock = farm.Scenario.InstanceClockSkew == TimeSpan.Zero ? farm.Time : new SkewedTimeProvider(farm.Time, farm.Scenario.InstanceClockSkew * number / farm.Scenario.Instances);
        Store = new InstanceStore(this, sharedStore, farm.Scenario.Breakage);
        var logger = new FarmLogger(farm, Name);
        var client = new PitchlyTokenClient(new Transport(this), farm.Options, Farm.Metrics, new FarmLogger<PitchlyTokenClient>(logger));
        Manager = new PitchlyTokenManager(
            Store,
            new ModelRefreshLock(farm, this),
            client,
            farm.Options,
            Clock,
            Farm.Metrics,
            [],
            new FarmLogger<PitchlyTokenManager>(logger));
    }

    public string Name { get; }

    public TimeProvider Clock { get; }

    public InstanceStore Store { get; }

    /// <summary>The store every instance shares, as the lock's server sees it (lock-acquire.lua reads the record's version).</summary>
    public IPitchlyTokenStore SharedStore { get; }

    public PitchlyTokenManager Manager { get; }

    public DateTimeOffset FrozenUntil { get; private set; }

    /// <summary>
    /// The refresh token this instance has passed its send check for and whose outcome it has not stored yet: the
    /// documented physical window (docs/web-farm.md, "The physical window left").
    /// </summary>
    public string? Holding { get; set; }

    /// <summary>When Pitchly's answer for <see cref="Holding"/> arrived (the holder offers it to the store from then on).</summary>
    public DateTimeOffset? AnswerArrived { get; set; }

    /// <summary>Whether this instance holds the refresh lock (the planted fault <see cref="Breakage.NoReReadAfterLock"/> needs it).</summary>
    public bool HoldsLock => LocksHeld > 0;

    public int LocksHeld { get; set; }

    /// <summary>Set when the lock is taken: the next read is the re-read under the lock.</summary>
    public bool ReReadPending { get; set; }

    /// <summary>The deadline of the fence this instance wrote last (on the store's clock).</summary>
    public DateTimeOffset FenceDeadline { get; set; }

    public bool IsFrozen => Crashed || FrozenUntil > _farm.Time.GetUtcNow();

    /// <summary>Whether this instance crashed: it runs nothing more, ever.</summary>
    public bool Crashed { get; private set; }

    /// <summary>Completes when the instance crashes.</summary>
    public Task CrashedTask => _crashed.Task;

    /// <summary>The end of the store outage this instance sees (none when in the past), and whether calls stall or fail.</summary>
    public DateTimeOffset OutageUntil { get; set; }

    public bool OutageStalls { get; set; }

    public Farm Farm => _farm;

    /// <summary>A scheduling point; the instance may freeze here for an arbitrary span while the others run on.</summary>
    public async Task PointAsync(string where, bool freezable = true)
    {
        // A scheduling point inside the running operation: Coyote may run any other enabled operation here, as at a
        // Task.Yield, but no new operation (a thread of Coyote's) is started for the rest of the call.
        SchedulingPoint.Interleave();
        if (Crashed || _farm.TryCrash())
        {
            if (!Crashed)
            {
                Crashed = true;
                _farm.Log($"{Name} crashed at {where}{(Holding is { } held ? $" holding {held}" : string.Empty)}");
                if (Holding is { } holding)
                {
                    _farm.LostWithCrash(holding);
                }

                _crashed.SetResult();
            }

            await new TaskCompletionSource().Task; // a dead process: never resumes
        }

        if (_farm.TryFreeze(freezable && (!_farm.Scenario.FreezeOnlyInTransport || where == "transport"), out var span))
        {
            FrozenUntil = _farm.Time.GetUtcNow() + span;
            _farm.Log($"{Name} frozen {span.TotalSeconds:0.#} s at {where}");
            var holding = Holding;
            if (holding is not null && FrozenUntil >= FenceDeadline)
            {
                // Stalled past its fence while holding a refresh token it may present (or has presented) and whose
                // answer it has not stored: a second spend is possible by design here (and only here).
                _farm.Endpoint.StalledPastFence(holding);
                _farm.Log($"{Name} stalls past its fence holding {holding} (the documented physical window)");
            }

            await Task.Delay(span, _farm.Time);
            _farm.Log($"{Name} resumed at {where}");
        }
    }

    /// <summary>The token endpoint's transport: Pitchly's rules are applied where the request arrives.</summary>
    private sealed class Transport(FarmInstance instance) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(new Handler(instance), disposeHandler: true);
    }

    private sealed class Handler(FarmInstance instance) : HttpMessageHandler
    {
        /// <summary>
        /// HttpClient awaits its handler with ConfigureAwait(false): completed on one of Coyote's threads (which carry
        /// Coyote's synchronization context), its continuation would be queued to the thread pool and the answer would
        /// reach the package at a moment Coyote does not choose, so a seed would not replay. The answer is therefore
        /// handed over with no synchronization context, which lets HttpClient's continuation run inline, on the
        /// controlled thread.
        /// </summary>
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var answer = new TaskCompletionSource<HttpResponseMessage>();
            _ = AnswerAsync(request, answer, cancellationToken);
            return answer.Task;
        }

        private async Task AnswerAsync(HttpRequestMessage request, TaskCompletionSource<HttpResponseMessage> answer, CancellationToken cancellationToken)
        {
            HttpResponseMessage? response = null;
            Exception? failure = null;
            try
            {
                response = await ExchangeAsync(request, cancellationToken);
            }
            catch (Exception exception)
            {
                failure = exception;
            }

            HandOver(answer, response, failure);
        }

        private static void HandOver(TaskCompletionSource<HttpResponseMessage> answer, HttpResponseMessage? response, Exception? failure)
        {
            var context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            if (failure is null)
            {
                answer.SetResult(response!);
            }
            else
            {
                answer.SetException(failure);
            }

            SynchronizationContext.SetSynchronizationContext(context);
        }

        private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var form = await request.Content!.ReadAsStringAsync(cancellationToken);
            var farm = instance._farm;

            // After the send-deadline check, before the request reaches Pitchly: a process frozen here resumes and sends.
            var refreshToken = System.Web.HttpUtility.ParseQueryString(form)["refresh_token"];
            if (farm.Scenario.Breakage.HasFlag(Breakage.NoSendDeadlineCheck))
            {
                // A freeze between the fence and a send-deadline check that is not there: nothing stops the send after it.
                await instance.PointAsync("after-fence-unchecked");
            }

            instance.Holding = refreshToken;
            instance.AnswerArrived = null;
            await instance.PointAsync("transport", freezable: farm.Scenario.FreezeInTransport);
            Specification.Assert(refreshToken is not null, "only refresh_token grants are modelled");
            farm.Log($"{instance.Name} presents {refreshToken}");
            var granted = farm.Endpoint.Refresh(refreshToken!, farm.Time.GetUtcNow(), instance.Name);
            if (farm.Scenario.SlowAnswers && farm.Random.NextBoolean())
            {
                await Task.Delay(TimeSpan.FromSeconds(1 + farm.Random.NextInteger(2)), farm.Time, CancellationToken.None);
            }

            SchedulingPoint.Interleave();
            if (granted is { } tokens && farm.TryLoseAnswer())
            {
                farm.Endpoint.AnswerLost(refreshToken!);
                farm.Log($"{instance.Name} lost the answer to {refreshToken} ({tokens.RefreshToken} issued)");
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "The connection closed before the answer arrived.");
            }

            var json = granted is { } issued
                ? $$"""{"access_token":"{{issued.AccessToken}}","token_type":"Bearer","expires_in":{{(int)ModelTokenEndpoint.AccessTokenLifetime.TotalSeconds}},"refresh_token":"{{issued.RefreshToken}}"}"""
                : """{"error":"invalid_grant"}""";
            farm.Log(granted is { } i ? $"{instance.Name} got {i.RefreshToken}" : $"{instance.Name} got invalid_grant for {refreshToken}");
            if (granted is null)
            {
                instance.Holding = null;
            }
            else
            {
                instance.AnswerArrived = farm.Time.GetUtcNow();
            }

            return new HttpResponseMessage(granted is null ? HttpStatusCode.BadRequest : HttpStatusCode.OK)
            {
                Content = new StringContent(json, Encoding.UTF8, "application/json"),
            };
        }
    }
}

/// <summary>
/// The shared store as one instance reaches it: a scheduling point (and a possible freeze) before and after each call,
/// and the planted read-side faults.
/// </summary>
internal sealed class InstanceStore(FarmInstance instance, IPitchlyTokenStore shared, Breakage breakage) : IPitchlyTokenStore
{
    private PitchlyTokenRecord? _lastReadBeforeLock;
    private PitchlyTokenRecord? _staleDecision;

    /// <summary>
    /// The store as this instance reaches it during an outage: the call stalls until the outage ends, or fails before or
    /// after it took effect (a reply lost on the way back).
    /// </summary>
    private async ValueTask<T> ReachAsync<T>(string where, Func<ValueTask<T>> call)
    {
        await instance.PointAsync(where);
        var farm = instance.Farm;
        if (instance.OutageUntil <= farm.Time.GetUtcNow() && farm.TryStoreOutage(out var until, out var stalls))
        {
            instance.OutageUntil = until;
            instance.OutageStalls = stalls;
            farm.Log($"{instance.Name} cannot reach the store until {until:mm:ss.fff} ({(stalls ? "calls stall" : "calls fail")})");
            if (instance.Holding is { } held && instance.AnswerArrived is { } arrived && until > arrived + farm.Options.CurrentValue.StoreWriteRetryTimeout - TimeSpan.FromSeconds(1))
            {
                // Outages back to back (each shorter than StoreWriteRetryTimeout) keep the store out of reach for longer
                // than the holder offers its tokens: it gives up and they are lost, as documented (docs/web-farm.md, "the
                // outage outlasts StoreWriteRetryTimeout"); the spent token may be presented once more. A second short of
                // the timeout already counts, as the retries' own steps take some of it.
                farm.LostWithOutage(held);
            }
        }

        if (instance.OutageUntil > farm.Time.GetUtcNow())
        {
            if (instance.Holding is { } holding && instance.OutageUntil >= instance.FenceDeadline)
            {
                // Pitchly's answer in hand while the store is out of reach past the fence: its extensions cannot land,
                // the documented physical window.
                farm.Endpoint.StalledPastFence(holding);
            }

            if (instance.OutageStalls)
            {
                await Task.Delay(instance.OutageUntil - farm.Time.GetUtcNow(), farm.Time);
            }
            else
            {
                var landed = farm.Random.NextBoolean();
                if (landed)
                {
                    await call();
                }

                farm.Log($"{instance.Name} {where} failed: store unreachable{(landed ? " (after it took effect)" : string.Empty)}");
                throw new PitchlyTokenStoreUnavailableException("The model's store is unreachable from this instance.");
            }
        }

        return await call();
    }

    public async ValueTask<PitchlyTokenRecord?> GetAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default)
    {
        var record = await ReachAsync("store-get", () => shared.GetAsync(key, cancellationToken));
        if (breakage.HasFlag(Breakage.FenceIgnoresLiveOwner) && record?.RefreshIntent is { } intent && instance.Farm.FenceOwners.GetValueOrDefault(intent.Owner) != instance.Name)
        {
            record = record with { RefreshIntent = null };
        }

        // No re-read after the lock, as someone would write it who kept the re-read only for the version the fence's
        // compare-and-swap needs: the first read under a freshly taken lock returns the store's current version (and
        // fence) with the tokens of the instance's last read before the lock, on which the refresh then decides.
        if (breakage.HasFlag(Breakage.NoReReadAfterLock) && record is not null)
        {
            if (instance.ReReadPending)
            {
                instance.ReReadPending = false;
                if (_lastReadBeforeLock is { } stale && stale.Version != record.Version)
                {
                    record = stale with { Version = record.Version, RefreshIntent = record.RefreshIntent };
                    _staleDecision = record;
                }
            }
            else if (!instance.HoldsLock)
            {
                _lastReadBeforeLock = record;
            }
        }

        await instance.PointAsync("store-got");
        return record;
    }

    public async ValueTask<PitchlyTokenRecord> SetAsync(PitchlyTokenKey key, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        return await ReachAsync("store-set", async () =>
        {
            var stored = await shared.SetAsync(key, record, cancellationToken);
            Announce(key);
            return stored;
        });
    }

    public async ValueTask<PitchlyTokenRecord?> TryReplaceAsync(PitchlyTokenKey key, long expectedVersion, PitchlyTokenRecord record, CancellationToken cancellationToken = default)
    {
        var stored = await ReachAsync("store-cas", async () =>
        {
            var replaced = await shared.TryReplaceAsync(key, expectedVersion, record, cancellationToken);
            if (replaced is not null)
            {
                Announce(key);
            }

            return replaced;
        });
        if (stored is not null && instance.Holding is { } holding && !string.Equals(stored.RefreshToken, holding, StringComparison.Ordinal))
        {
            instance.Holding = null; // the answer is stored (or newer tokens were)
        }

        instance.Farm.Log($"{instance.Name} cas@{expectedVersion} {(stored is null ? "refused" : $"-> v{stored.Version} {stored.RefreshToken}{(stored.RefreshTokenMayBeSpent ? " (may be spent)" : "")}")}");
        await instance.PointAsync("store-cas-done");
        return stored;
    }

    public async ValueTask<PitchlyTokenRecord?> TryBeginRefreshAsync(PitchlyTokenKey key, long expectedVersion, string owner, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        instance.Farm.FenceOwners[owner] = instance.Name;
        var fenced = await ReachAsync("store-fence", () => shared.TryBeginRefreshAsync(key, expectedVersion, owner, lifetime, cancellationToken));
        if (breakage.HasFlag(Breakage.NoReReadAfterLock) && fenced is not null && _staleDecision is { } stale && stale.Version == expectedVersion)
        {
            // ... and presents the refresh token of the record it decided on, not that of the record it fenced.
            fenced = fenced with { AccessToken = stale.AccessToken, RefreshToken = stale.RefreshToken, ExpiresAt = stale.ExpiresAt, IssuedAt = stale.IssuedAt, RefreshTokenMayBeSpent = stale.RefreshTokenMayBeSpent };
        }

        _staleDecision = null;
        if (fenced?.RefreshIntent is { } intent)
        {
            instance.FenceDeadline = intent.Deadline;
        }

        instance.Farm.Log($"{instance.Name} fence@{expectedVersion} {(fenced is null ? "refused" : $"-> v{fenced.Version} until {fenced.RefreshIntent!.Deadline:mm:ss.fff}")}");
        await instance.PointAsync("store-fenced");
        return fenced;
    }

    public async ValueTask<bool> RemoveAsync(PitchlyTokenKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        return await ReachAsync("store-remove", async () =>
        {
            var removed = await shared.RemoveAsync(key, expectedVersion, cancellationToken);
            if (removed)
            {
                Announce(key);
            }

            return removed;
        });
    }

    /// <summary>
    /// A write that took effect is announced, as the Redis store's set, compare-and-swap and remove scripts do (not a
    /// fence, which begin-refresh.lua does not announce): it wakes the instances waiting for the key's refresh lock.
    /// </summary>
    private void Announce(PitchlyTokenKey key) => instance.Farm.Locks.RecordWritten(key);
}

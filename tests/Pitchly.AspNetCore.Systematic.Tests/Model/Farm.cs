using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Coyote.Random;
using Microsoft.Coyote.Runtime;
using Microsoft.Coyote.Specifications;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// A web farm in one process, run once per schedule under Coyote's scheduler: instances with real token managers
/// sharing one store and one lock, callers, Pitchly's token endpoint, and a clock the model advances. The properties
/// are asserted as the schedule runs and at its end.
/// </summary>
internal sealed class Farm
{
    private static readonly TimeSpan[] Ticks = [TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];
    private static readonly TimeSpan[] FreezeSpans = [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60)];

    // Outages shorter than StoreWriteRetryTimeout (60 s): a holder of new tokens gets them stored once the store is back.
    private static readonly TimeSpan[] OutageSpans = [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(40)];
    private const int MaxClockTicks = 5_000;

    // A step of the model never waits on the clock for more than this many scheduling points of the clock.
    private const int MaxSpins = 8;

    private readonly List<string> _log = [];
    private int _freezes;
    private int _crashes;
    private int _outages;
    private int _lostWithCrash;
    private int _lostWithOutage;
    private int _lostAnswers;
    private volatile bool _faultsStopped;
    private volatile bool _done;
    private int _ticks;
    private int _spins;

    private Farm(FarmScenario scenario)
    {
        Scenario = scenario;
        Time = new ModelTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        Random = Generator.Create();
        Endpoint = new ModelTokenEndpoint();
        Locks = new ModelLockServer(Time);
        Options = new FixedOptions(new PitchlyTokenManagementOptions
        {
            ClientId = "client",
            ClientSecret = "secret",
            TokenEndpoint = "https://pitchly.test/api/oauth/token",
            // The package's defaults, but a shorter request timeout: it runs on the system clock (HttpClient), so it
            // must outlast the real time a schedule spends inside one request.
            RefreshTimeout = TimeSpan.FromSeconds(30),
            TokenRequestTimeout = TimeSpan.FromSeconds(30),
            FenceTimeout = TimeSpan.FromSeconds(45),
            StoreWriteRetryTimeout = TimeSpan.FromSeconds(60),
            TokenEndpointRetryTimeout = TimeSpan.FromSeconds(20),
        });
    }

    public static PitchlyMetrics Metrics { get; } = new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    public static PitchlyTokenKey Key { get; } = PitchlyTokenKey.ForUser("org1", "person1");

    public FarmScenario Scenario { get; }

    public ModelTimeProvider Time { get; }

    public Generator Random { get; }

    public ModelTokenEndpoint Endpoint { get; }

    public ModelLockServer Locks { get; }

    public IOptionsMonitor<PitchlyTokenManagementOptions> Options { get; }

    public ConcurrentDictionary<string, string> FenceOwners { get; } = new(StringComparer.Ordinal);

    public string Trace
    {
        get
        {
            lock (_log)
            {
                return string.Join(Environment.NewLine, _log);
            }
        }
    }

    /// <summary>Runs one schedule of <paramref name="scenario"/>; a violated property fails it through Coyote's assertion.</summary>
    public static async Task RunAsync(FarmScenario scenario)
    {
        var farm = new Farm(scenario);
        Current = farm;
        await farm.RunAsync();
    }

    /// <summary>The farm of the schedule that runs now.</summary>
    public static Farm? Current { get; private set; }

    /// <summary>Reuses inside the documented physical window, summed over the schedules of one exploration.</summary>
    public static int ExcusedReuses { get; set; }

    /// <summary>Stalls of a holder past its fence with a refresh token in hand, summed over one exploration.</summary>
    public static int HolderStalls { get; set; }

    /// <summary>Answers lost because outages back to back kept the store out of reach past StoreWriteRetryTimeout, summed over one exploration.</summary>
    public static int OutageLosses { get; set; }

    /// <summary>The trace of the first schedule with a reuse inside the documented physical window.</summary>
    public static string? ExcusedTrace { get; set; }

    /// <summary>The trace of the first schedule that violated a property in this exploration.</summary>
    public static string? FailureTrace { get; set; }

    public void Log(string line)
    {
        lock (_log)
        {
            _log.Add($"{Time.GetUtcNow():mm:ss.fff} {line}");
        }
    }

    /// <summary>Whether to freeze here, and for how long (the model's choice, within the scenario's budget).</summary>
    public bool TryFreeze(bool allowed, out TimeSpan span)
    {
        span = default;
        if (!allowed || _faultsStopped || _freezes >= Scenario.Freezes || Random.NextInteger(8) != 0)
        {
            return false;
        }

        _freezes++;
        span = FreezeSpans[Random.NextInteger(FreezeSpans.Length)];
        return true;
    }

    /// <summary>Whether to crash here (the model's choice, within the scenario's budget).</summary>
    public bool TryCrash()
    {
        if (_faultsStopped || _crashes >= Scenario.Crashes || Random.NextInteger(16) != 0)
        {
            return false;
        }

        _crashes++;
        return true;
    }

    /// <summary>An instance crashed holding <paramref name="refreshToken"/> it may have presented, its answer unstored.</summary>
    public void LostWithCrash(string refreshToken)
    {
        if (Endpoint.HolderDied(refreshToken))
        {
            _lostWithCrash++;
        }
    }

    /// <summary>
    /// A holder of <paramref name="refreshToken"/>'s answer cannot reach the store within StoreWriteRetryTimeout: it gives
    /// up, and the tokens issued for it are lost (the package may present the spent token once more, as after a lost answer).
    /// </summary>
    public void LostWithOutage(string refreshToken)
    {
        if (Endpoint.HolderDied(refreshToken))
        {
            _lostWithOutage++;
            Log($"the store stays out of reach past StoreWriteRetryTimeout for the holder of {refreshToken}: its answer is lost");
        }
    }

    /// <summary>Whether the store becomes unreachable for one instance here, how, and until when.</summary>
    public bool TryStoreOutage(out DateTimeOffset until, out bool stalls)
    {
        until = default;
        stalls = false;
        if (_faultsStopped || _outages >= Scenario.StoreOutages || Random.NextInteger(8) != 0)
        {
            return false;
        }

        _outages++;
        until = Time.GetUtcNow() + OutageSpans[Random.NextInteger(OutageSpans.Length)];
        stalls = Random.NextBoolean();
        return true;
    }

    public bool TryLoseAnswer()
    {
        if (_faultsStopped || _lostAnswers >= Scenario.LostAnswers || !Random.NextBoolean())
        {
            return false;
        }

        _lostAnswers++;
        return true;
    }

    private async Task RunAsync()
    {
        IPitchlyTokenStore shared = Scenario.ScriptedStore
            ? new ScriptedTokenStore(Time, Scenario.Breakage)
            : new InMemoryPitchlyTokenStore(Time);
        await shared.SetAsync(Key, Endpoint.SignIn(Time.GetUtcNow()));
        var instances = Enumerable.Range(1, Scenario.Instances).Select(n => new FarmInstance(this, n, shared)).ToArray();

        var clock = Task.Run(RunClockAsync);
        var callers = new List<Task>();
        foreach (var instance in instances)
        {
            for (var c = 0; c < Scenario.CallersPerInstance; c++)
            {
                // A crashed instance's calls never return: the farm stops waiting for them when it crashes.
                callers.Add(Task.Run(() => Task.WhenAny(CallAsync(instance), instance.CrashedTask)));
            }
        }

        if (Scenario.EarlyInvalidation)
        {
            callers.Add(Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(Random.NextInteger(3) * 15), Time);
                Endpoint.KillNewestAccessToken();
                Log("pitchly invalidates the newest access token early");
            }));
        }

        await Task.WhenAll(callers);

        // The faults stop: no more freezes or lost answers. Every instance must then get a valid token, and the record
        // settle on the family's live refresh token.
        _faultsStopped = true;
        Log("faults stop");
        await Task.Delay(ModelTokenEndpoint.AccessTokenLifetime + TimeSpan.FromSeconds(20), Time);
        foreach (var instance in instances.Where(i => !i.Crashed))
        {
            // A retryable failure means the same call may succeed again (PitchlyException.IsRetryable): a refresh that
            // joined the tail of a freeze from before the faults stopped is retried, twice at most, as an app would.
            for (var attempt = 0; !await CallAsync(instance, final: true, retriesLeft: 2 - attempt); attempt++)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), Time);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(30), Time);
        var record = await shared.GetAsync(Key);
        _done = true;
        await clock;
        Log($"clock: {_ticks} ticks, {_spins} spins");

        if (!Endpoint.FamilyRevoked)
        {
            Assert(record is not null, "after the faults stopped, the record is gone");
            Assert(record!.RefreshIntent is null || record.RefreshIntent.Deadline <= Time.GetUtcNow(), "after the faults stopped, a fence still lives");
            Assert(Endpoint.IsLive(record.RefreshToken) || _lostAnswers > 0 || Endpoint.Stalls > 0 || _lostWithCrash > 0 || _lostWithOutage > 0, $"after the faults stopped, the record holds {record.RefreshToken} while Pitchly's live refresh token is {Endpoint.LiveRefreshToken}: issued tokens were lost");
        }

        ExcusedReuses += Endpoint.Excused;
        HolderStalls += Endpoint.Stalls;
        OutageLosses += _lostWithOutage;
        if (Endpoint.Excused > 0)
        {
            ExcusedTrace ??= Trace;
        }

        if (Environment.GetEnvironmentVariable("PITCHLY_SYSTEMATIC_TRACE") == "1")
        {
            File.AppendAllText("/tmp/farm-trace.txt", Trace + Environment.NewLine);
        }

        var violations = Endpoint.Violations;
        Assert(violations.Count == 0, string.Join("; ", violations));
    }

    private async Task RunClockAsync()
    {
        var ticks = 0;
        var spins = 0;
        while (!_done)
        {
            // The clock moves only when nothing else can: steps of a refresh take no time; time passes while everyone
            // waits (on timers, at fences, frozen), and where the model says so (a freeze, a slow answer). Coyote's
            // rewritten Thread.Sleep is the cheap wait for that: it pauses the clock's own operation until no other
            // operation is enabled (or a random number of steps, below the configured timeout delay, has passed), as an
            // awaited Task.Delay does, without the two operations (two threads of Coyote's) that one costs per tick.
#pragma warning disable CA1849, VSTHRD103 // a blocking wait on purpose: under Coyote it blocks nothing but the clock
            Thread.Sleep(1);
#pragma warning restore CA1849, VSTHRD103
            if (Quiescence.OthersCanRun() && ++spins < MaxSpins)
            {
                continue;
            }

            _spins += spins;
            spins = 0;
            _ticks++;
            Assert(++ticks < MaxClockTicks, $"no progress within {MaxClockTicks} clock ticks (deadlock or livelock)");
            var now = Time.GetUtcNow();
            var tick = Ticks[Random.NextInteger(Ticks.Length)];
            if (Time.NextDue() is { } due && due <= now)
            {
                tick = TimeSpan.Zero; // a timer is due already: fire it without moving the time
            }
            else if (Time.NextDue() is { } next && next - now > tick)
            {
                // Nothing can happen before the next timer: go there at once, at or just past it (a timer's
                // continuation may see its due time passed by a little, as on a loaded machine).
                tick = next - now + (Random.NextBoolean() ? TimeSpan.Zero : Ticks[0]);
            }

            Time.Advance(tick);
        }
    }

    /// <summary>Makes the calls of one caller; <see langword="false"/> when a final call failed retryably and may be retried.</summary>
    private async Task<bool> CallAsync(FarmInstance instance, bool final = false, int retriesLeft = 0)
    {
        for (var call = 0; call < (final ? 1 : Scenario.CallsPerCaller); call++)
        {
            if (!final)
            {
                await Task.Delay(TimeSpan.FromSeconds(Random.NextInteger(3) * 15), Time);
            }

            // A caller that will not cancel passes no token, as most callers do: the manager then awaits the shared
            // refresh itself (Task.WaitAsync with a token that can be cancelled completes on a thread-pool thread,
            // outside Coyote's control, which would make a seed replay differently).
            using var cancel = new CancellationTokenSource();
            var cancels = !final && Scenario.CancellingCallers && Random.NextInteger(3) == 0;
            var callerToken = cancels ? cancel.Token : CancellationToken.None;
            if (cancels)
            {
                _ = Task.Run(() =>
                {
                    SchedulingPoint.Interleave();
                    cancel.Cancel();
                });
            }

            var step = "GetAccessTokenAsync";
            var calledAt = Time.GetUtcNow();
            try
            {
                var token = await instance.Manager.GetAccessTokenAsync(Key, callerToken);
                CheckHandedOut(instance, token, step, calledAt, rejected: null);
                if (!Endpoint.Accepts(token.Value, Time.GetUtcNow()))
                {
                    // Pitchly rejects it (killed early, or it expired since): refresh with the rejected token and replay.
                    step = "RefreshAsync";
                    var next = await instance.Manager.RefreshAsync(Key, token.Value, callerToken);
                    CheckHandedOut(instance, next, step, calledAt, rejected: token.Value);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Log($"{instance.Name} caller cancelled");
            }
            catch (Exception exception)
            {
                Log($"{instance.Name} {step} failed: {exception.GetType().Name}: {exception.Message}");
                if (final && retriesLeft > 0 && exception is PitchlyException { IsRetryable: true })
                {
                    return false;
                }

                var allowed = exception switch
                {
                    PitchlySignInRequiredException => Endpoint.FamilyRevoked,
                    // Only once such a fault has happened in this schedule, not merely because the scenario allows one.
                    PitchlyRefreshTimeoutException or PitchlyTokenStoreUnavailableException => !final && (_freezes > 0 || _crashes > 0 || _outages > 0),
                    PitchlyTokenEndpointException => !final && (_lostAnswers > 0 || Endpoint.FamilyRevoked),
                    _ => false,
                };
                Assert(allowed, $"{instance.Name}: {step} failed with {exception.GetType().Name} ({exception.Message}){(final ? " after the faults stopped" : "")}, not a documented error for this situation{(allowed ? string.Empty : "\n" + exception)}");
            }
        }

        return true;
    }

    /// <summary>
    /// A token handed out must be one Pitchly issued to this family, with Pitchly's expiry, still valid when the call
    /// began (the manager decides after that, on a clock that only moves forward; an instance whose clock runs ahead may
    /// be that much late), and not the one just rejected.
    /// </summary>
    private void CheckHandedOut(FarmInstance instance, PitchlyAccessToken token, string step, DateTimeOffset calledAt, string? rejected)
    {
        Log($"{instance.Name} {step} -> {token.Value}");
        if (Endpoint.FamilyRevoked)
        {
            return; // reported as its own violation (or an answer that was lost)
        }

        var expiry = Endpoint.ExpiryOf(token.Value);
        Assert(expiry is not null, $"{instance.Name}: {step} handed out {token.Value}, which Pitchly never issued");
        // The manager dates the expiry from just before its request, on its own clock: never later than Pitchly's, but
        // for that clock's skew.
        Assert(token.ExpiresAt <= expiry + Scenario.InstanceClockSkew, $"{instance.Name}: {step} handed out {token.Value} with expiry {token.ExpiresAt:O}, later than Pitchly's {expiry:O}");
        Assert(calledAt < expiry + Scenario.InstanceClockSkew, $"{instance.Name}: {step} (called at {calledAt:mm:ss.fff}) handed out {token.Value}, expired at {expiry:mm:ss.fff}");
        Assert(!string.Equals(token.Value, rejected, StringComparison.Ordinal), $"{instance.Name}: {step} handed back the rejected token {rejected}");
    }

    private void Assert(bool condition, string message)
    {
        if (!condition)
        {
            Log($"VIOLATION: {message}");
            FailureTrace ??= Trace;
        }

        Specification.Assert(condition, "{0}", message);
    }

    private sealed class FixedOptions(PitchlyTokenManagementOptions value) : IOptionsMonitor<PitchlyTokenManagementOptions>
    {
        public PitchlyTokenManagementOptions CurrentValue => value;

        public PitchlyTokenManagementOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<PitchlyTokenManagementOptions, string?> listener) => null;
    }
}

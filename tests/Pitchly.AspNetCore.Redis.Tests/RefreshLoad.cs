namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// Every instance refreshing every user's tokens in a loop, as fast as it can, until stopped: the load under which a
/// change of the Redis deployment (slots moving, a failover) must spend no refresh token twice.
/// </summary>
internal sealed class RefreshLoad
{
    private readonly ConcurrentBag<Exception> _failures = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers;
    private int _refreshed;

    private RefreshLoad(IReadOnlyList<EmulatedInstance> instances, IReadOnlyList<PitchlyTokenKey> keys, CancellationToken cancel) =>
        _workers = [.. instances.SelectMany(instance => keys.Select(key => Task.Run(() => RefreshUntilStoppedAsync(instance, key, cancel), cancel)))];

    /// <summary>Gets how many refreshes succeeded so far.</summary>
    public int Refreshed => Volatile.Read(ref _refreshed);

    /// <summary>Gets the failures seen so far; each worker pauses 20 ms after one.</summary>
    public IReadOnlyCollection<Exception> Failures => _failures;

    /// <summary>Gets the person ids of the emulator's generated users (<see cref="PitchlyEmulatorOptions.GeneratedUsers"/>).</summary>
    public static List<string> LoadUsers(PitchlyEmulatorServer emulator) =>
        emulator.Emulator.Users.Where(u => u.Name.StartsWith("Load User ", StringComparison.Ordinal)).Select(u => u.PersonId).ToList();

    /// <summary>Signs every person in at the emulator and stores their tokens through <paramref name="writer"/>; returns their keys.</summary>
    public static async Task<List<PitchlyTokenKey>> SignInAsync(PitchlyEmulatorServer emulator, IEnumerable<string> people, EmulatedInstance writer, CancellationToken cancel)
    {
        var keys = new List<PitchlyTokenKey>();
        foreach (var person in people)
        {
            var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(emulator, person);
            await writer.Store.SetAsync(key, record, cancel);
            keys.Add(key);
        }

        return keys;
    }

    public static RefreshLoad Start(IReadOnlyList<EmulatedInstance> instances, IReadOnlyList<PitchlyTokenKey> keys, CancellationToken cancel) =>
        new(instances, keys, cancel);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _stop.Dispose();
    }

    /// <summary>Asserts that every failure was one a caller may retry: the store unavailable, or a lock wait timed out.</summary>
    public void AssertOnlyRetryableFailures(string report = "") =>
        Assert.All(_failures, failure => Assert.True(
            failure is PitchlyTokenStoreUnavailableException or PitchlyRefreshTimeoutException,
            $"Not a retryable failure: {failure}\n{report}"));

    /// <summary>Once the load has stopped: each user still has a token, and the other instance reads the latest record.</summary>
    public static async Task AssertSettledAsync(EmulatedInstance writer, EmulatedInstance reader, IEnumerable<PitchlyTokenKey> keys, CancellationToken cancel)
    {
        foreach (var key in keys)
        {
            var current = await writer.Store.GetAsync(key, cancel);
            Assert.False(string.IsNullOrEmpty((await writer.Manager.GetAccessTokenAsync(key, cancel)).Value));
            await Eventually.HoldsAsync(
                async () => await reader.Store.GetAsync(key, cancel) is { } read && read.Version >= current!.Version,
                TimeSpan.FromSeconds(10),
                "the second instance reads the latest record");
        }
    }

    private async Task RefreshUntilStoppedAsync(EmulatedInstance instance, PitchlyTokenKey key, CancellationToken cancel)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var token = await instance.Manager.GetAccessTokenAsync(key, cancel);
                await instance.Manager.RefreshAsync(key, token.Value, cancel);
                Interlocked.Increment(ref _refreshed);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                _failures.Add(exception);
                await Task.Delay(20, cancel);
            }
        }
    }
}

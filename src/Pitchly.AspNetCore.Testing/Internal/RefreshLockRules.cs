using static Pitchly.AspNetCore.Testing.Internal.RuleBrokenException;

namespace Pitchly.AspNetCore.Testing.Internal;

/// <summary>
/// The checks of <see cref="PitchlyRefreshLockConformance"/>, on keys of an organization id unique to the run; every
/// handle the kit is granted is disposed before its rule ends.
/// </summary>
internal sealed class RefreshLockRules(
    Func<CancellationToken, ValueTask<IPitchlyRefreshLock>> newLock,
    PitchlyRefreshLockConformanceOptions options)
{
    private readonly string _organizationId = $"pitchly-conformance-{Guid.NewGuid():N}";
    private int _lastPerson;

    public IEnumerable<ConformanceRule> All
    {
        get
        {
            yield return new(PitchlyConformanceRule.LockAdmitsOneHolder, LockAdmitsOneHolderAsync);
            yield return new(PitchlyConformanceRule.LockKeysAreIndependent, LockKeysAreIndependentAsync);
            yield return new(PitchlyConformanceRule.LockExcludesUnderContention, LockExcludesUnderContentionAsync);
            yield return new(PitchlyConformanceRule.LockKeptWhileHeld, LockKeptWhileHeldAsync);
            if (options.EndLeaseAsync is not null)
            {
                yield return new(PitchlyConformanceRule.LockLostSignalsLostLease, LockLostSignalsLostLeaseAsync);
                yield return new(PitchlyConformanceRule.LockReleasedByOwnerOnly, LockReleasedByOwnerOnlyAsync);
            }
        }
    }

    private async Task LockAdmitsOneHolderAsync(CancellationToken cancel)
    {
        var key = NewKey();
        var first = await newLock(cancel);
        var second = await newLock(cancel);
        await using (await GrantedAsync(first, key, "a free lock", cancel))
        {
            await RequireExcludedAsync(second, key, "while another holder held it", cancel);
        }

        await (await GrantedAsync(second, key, "a lock just released", cancel)).DisposeAsync();
        await (await GrantedAsync(first, key, "a lock released by its second holder", cancel)).DisposeAsync();
    }

    private async Task LockKeysAreIndependentAsync(CancellationToken cancel)
    {
        var first = await newLock(cancel);
        var second = await newLock(cancel);
        await using var held = await GrantedAsync(first, NewKey(), "a free lock", cancel);
        await (await GrantedAsync(second, NewKey(), "the free lock of another key, while one key's lock was held", cancel)).DisposeAsync();
    }

    private async Task LockExcludesUnderContentionAsync(CancellationToken cancel)
    {
        var key = NewKey();
        var locks = new IPitchlyRefreshLock[Math.Max(2, options.Contenders)];
        for (var i = 0; i < locks.Length; i++)
        {
            locks[i] = await newLock(cancel);
        }

        var holders = 0;
        var overlaps = 0;
        await Task.WhenAll(locks.Select(instance => Task.Run(
            async () =>
            {
                for (var acquisition = 0; acquisition < options.AcquisitionsPerContender; acquisition++)
                {
                    await using (await AcquireRetryingAsync(instance, key, cancel))
                    {
                        if (Interlocked.Increment(ref holders) != 1)
                        {
                            Interlocked.Increment(ref overlaps);
                        }

                        await Task.Delay(2, cancel);
                        Interlocked.Decrement(ref holders);
                    }
                }
            },
            cancel)));
        Unless(overlaps == 0, $"{overlaps} of {locks.Length * options.AcquisitionsPerContender} acquisitions found the lock already held by another contender.");
    }

    private async Task LockKeptWhileHeldAsync(CancellationToken cancel)
    {
        var key = NewKey();
        var first = await newLock(cancel);
        var second = await newLock(cancel);
        var held = await GrantedAsync(first, key, "a free lock", cancel);
        await using (held)
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var pending = AcquireAsync(second, key, waiting.Token);
            await Task.WhenAny(pending, Task.Delay(options.HoldDuration, cancel));
            Unless(!held.LockLost.IsCancellationRequested, $"LockLost was cancelled while the holder held the lock (within {options.HoldDuration}), with nobody taking it.");
            await waiting.CancelAsync();
            var intruder = await SettledAsync(pending);
            if (intruder is not null)
            {
                await intruder.DisposeAsync();
                throw new RuleBrokenException($"another acquirer was granted the lock while its holder still held it (within {options.HoldDuration}): the lease was not renewed.");
            }

            Unless(await held.ExtendAsync(TimeSpan.FromSeconds(5), cancel), "ExtendAsync answered false for a lock its holder held.");
        }
    }

    private async Task LockLostSignalsLostLeaseAsync(CancellationToken cancel)
    {
        var key = NewKey();
        var first = await newLock(cancel);
        await using var held = await GrantedAsync(first, key, "a free lock", cancel);
        Unless(!held.LockLost.IsCancellationRequested, "LockLost was cancelled as the lock was granted.");
        await options.EndLeaseAsync!(key, cancel);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (held.LockLost.Register(() => lost.TrySetResult()))
        {
            var signalled = await Task.WhenAny(lost.Task, Task.Delay(options.GrantWithin, cancel)) == lost.Task;
            Unless(signalled, $"LockLost was not cancelled within {options.GrantWithin} of the lease being ended.");
        }
    }

    private async Task LockReleasedByOwnerOnlyAsync(CancellationToken cancel)
    {
        var key = NewKey();
        var first = await newLock(cancel);
        var second = await newLock(cancel);
        var third = await newLock(cancel);
        var stale = await GrantedAsync(first, key, "a free lock", cancel);
        await options.EndLeaseAsync!(key, cancel);
        await using (var current = await GrantedAsync(second, key, "a lock whose lease was ended", cancel))
        {
            await stale.DisposeAsync();
            await RequireExcludedAsync(third, key, "after the holder whose lease had ended disposed its handle, while the holder after it still held it", cancel);
        }

        await (await GrantedAsync(third, key, "a lock released by its holder", cancel)).DisposeAsync();
    }

    /// <summary>
    /// Starts an acquisition while the lock is held and requires it not to be granted within
    /// <see cref="PitchlyRefreshLockConformanceOptions.ExclusionWait"/>; then gives it up.
    /// </summary>
    private async Task RequireExcludedAsync(IPitchlyRefreshLock instance, PitchlyTokenKey key, string when, CancellationToken cancel)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var pending = AcquireAsync(instance, key, waiting.Token);
        if (await Task.WhenAny(pending, Task.Delay(options.ExclusionWait, cancel)) == pending && await SettledAsync(pending) is { } intruder)
        {
            await intruder.DisposeAsync();
            throw new RuleBrokenException($"a second acquirer was granted the lock {when}.");
        }

        // Still waiting (or gave up): stop it; the caller releases the lock and asks again.
        await waiting.CancelAsync();
        var late = await SettledAsync(pending);
        if (late is not null)
        {
            await late.DisposeAsync();
            throw new RuleBrokenException($"a second acquirer was granted the lock {when}.");
        }
    }

    private async Task<IPitchlyRefreshLockHandle> GrantedAsync(IPitchlyRefreshLock instance, PitchlyTokenKey key, string what, CancellationToken cancel)
    {
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        within.CancelAfter(options.GrantWithin);
        try
        {
            return await instance.AcquireAsync(key, within.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or PitchlyRefreshTimeoutException && !cancel.IsCancellationRequested)
        {
            throw new RuleBrokenException($"{what} was not granted within {options.GrantWithin} ({exception.GetType().Name}).");
        }
    }

    /// <summary>
    /// Acquires for a contender: a lock may give up waiting with a <see cref="PitchlyRefreshLockTimeoutException"/> (or a
    /// <see cref="TimeoutException"/>); the contender asks again.
    /// </summary>
    private static async Task<IPitchlyRefreshLockHandle> AcquireRetryingAsync(IPitchlyRefreshLock instance, PitchlyTokenKey key, CancellationToken cancel)
    {
        while (true)
        {
            try
            {
                return await instance.AcquireAsync(key, cancel);
            }
            catch (Exception exception) when (exception is TimeoutException or PitchlyRefreshLockTimeoutException)
            {
                cancel.ThrowIfCancellationRequested();
            }
        }
    }

    private static Task<IPitchlyRefreshLockHandle> AcquireAsync(IPitchlyRefreshLock instance, PitchlyTokenKey key, CancellationToken cancel)
        => instance.AcquireAsync(key, cancel).AsTask();

    /// <summary>The handle of a finished acquisition, or <see langword="null"/> when it was cancelled or gave up.</summary>
    private static async Task<IPitchlyRefreshLockHandle?> SettledAsync(Task<IPitchlyRefreshLockHandle> acquisition)
    {
        try
        {
            return await acquisition;
        }
        catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or PitchlyRefreshTimeoutException)
        {
            return null;
        }
    }

    private PitchlyTokenKey NewKey() => PitchlyTokenKey.ForUser(_organizationId, $"person{Interlocked.Increment(ref _lastPerson)}");
}

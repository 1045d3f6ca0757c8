using System.Collections.Concurrent;
using System.Diagnostics;
using static Pitchly.AspNetCore.Testing.Internal.RuleBrokenException;

namespace Pitchly.AspNetCore.Testing.Internal;

/// <summary>
/// The checks of <see cref="PitchlyTokenStoreConformance"/>. Every key belongs to an organization id unique to the run, so
/// the kit can run against a shared, non-empty store; <see cref="CleanUpAsync"/> removes every record it wrote.
/// </summary>
internal sealed class TokenStoreRules(
    Func<CancellationToken, ValueTask<IPitchlyTokenStore>> newStore,
    IPitchlyTokenStore store,
    PitchlyTokenStoreConformanceOptions options)
{
    private static readonly TimeSpan LongFence = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan OneMillisecond = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan UnavailableRetryTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan UnavailableRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly string _organizationId = $"pitchly-conformance-{Guid.NewGuid():N}";
    private readonly ConcurrentBag<PitchlyTokenKey> _keys = [];
    private int _lastPerson;
    private int _lastToken;

    public IEnumerable<ConformanceRule> All =>
    [
        new(PitchlyConformanceRule.ReadsReturnWhatWasWritten, ReadsReturnWhatWasWrittenAsync),
        new(PitchlyConformanceRule.KeysAreIndependent, KeysAreIndependentAsync),
        new(PitchlyConformanceRule.StoreAssignsVersionAndIntent, StoreAssignsVersionAndIntentAsync),
        new(PitchlyConformanceRule.VersionsRiseOnEveryWrite, VersionsRiseOnEveryWriteAsync),
        new(PitchlyConformanceRule.CompareAndSwapRefusesStaleVersion, CompareAndSwapRefusesStaleVersionAsync),
        new(PitchlyConformanceRule.CompareAndDeleteRefusesStaleVersion, CompareAndDeleteRefusesStaleVersionAsync),
        new(PitchlyConformanceRule.VersionsNeverRepeatAfterRemoval, VersionsNeverRepeatAfterRemovalAsync),
        new(PitchlyConformanceRule.FenceRequiresCurrentVersion, FenceRequiresCurrentVersionAsync),
        new(PitchlyConformanceRule.FenceIsStoredWithItsDeadline, FenceIsStoredWithItsDeadlineAsync),
        new(PitchlyConformanceRule.LiveFenceRefusesOtherOwners, LiveFenceRefusesOtherOwnersAsync),
        new(PitchlyConformanceRule.FenceLapsesAtDeadline, FenceLapsesAtDeadlineAsync),
        new(PitchlyConformanceRule.OtherWritesClearFence, OtherWritesClearFenceAsync),
        new(PitchlyConformanceRule.ConcurrentCompareAndSwapHasOneWinner, ConcurrentCompareAndSwapHasOneWinnerAsync),
        new(PitchlyConformanceRule.ConcurrentFencesHaveOneWinner, ConcurrentFencesHaveOneWinnerAsync),
        new(PitchlyConformanceRule.DataSurvivesNewInstance, DataSurvivesNewInstanceAsync),
        new(PitchlyConformanceRule.InstancesDecideOnSharedData, InstancesDecideOnSharedDataAsync),
        new(PitchlyConformanceRule.OwnerMayExtendItsOwnFence, OwnerMayExtendItsOwnFenceAsync),
    ];

    /// <summary>Removes every record the run wrote (best effort: a store that cannot remove has failed a rule already).</summary>
    public async Task CleanUpAsync()
    {
        foreach (var key in _keys.Distinct())
        {
            try
            {
                await store.RemoveAsync(key, expectedVersion: null, CancellationToken.None);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // Left for the store's own expiry; the run's keys are unique, so no later run meets them.
            }
        }
    }

    private async Task ReadsReturnWhatWasWrittenAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        Unless(await store.GetAsync(key, cancel) is null, "a key never written read as a record.");

        var full = Tokens() with
        {
            AccessToken = "a" + new string('x', 2_047),
            RefreshToken = "r" + new string('y', 2_047),
            RefreshTokenMayBeSpent = true,
            Sessions = [new PitchlySession("conformance-session-1", Truncated(DateTimeOffset.UtcNow.AddMinutes(-5))), new PitchlySession("conformance-session-2", Truncated(DateTimeOffset.UtcNow))],
        };
        var set = await store.SetAsync(key, full, cancel);
        RequireSameTokens(full, set, "the record SetAsync returned");
        var read = NotNull(await store.GetAsync(key, cancel), "a record just written with SetAsync read as none.");
        RequireSameTokens(full, read, "the record read after SetAsync");
        Unless(read.Version == set.Version, $"SetAsync returned version {set.Version} but the record read has version {read.Version}.");
        Unless(read.RefreshIntent is null, "a record written with SetAsync read with a refresh intent.");

        var sparse = new PitchlyTokenRecord { AccessToken = NextToken("access"), ExpiresAt = Truncated(DateTimeOffset.UtcNow.AddMinutes(5)) };
        var replaced = NotNull(await store.TryReplaceAsync(key, set.Version, sparse, cancel), "TryReplaceAsync at the current version was refused.");
        RequireSameTokens(sparse, replaced, "the record TryReplaceAsync returned");
        read = NotNull(await store.GetAsync(key, cancel), "a record just written with TryReplaceAsync read as none.");
        RequireSameTokens(sparse, read, "the record read after TryReplaceAsync (absent values must stay absent)");
        Unless(read.Version == replaced.Version, $"TryReplaceAsync returned version {replaced.Version} but the record read has version {read.Version}.");
    }

    private async Task KeysAreIndependentAsync(CancellationToken cancel)
    {
        PitchlyTokenKey[] keys = [NewUserKey(), NewUserKey(), Track(PitchlyTokenKey.ForInstall(_organizationId)), Track(PitchlyTokenKey.ForInstall(_organizationId, "db1"))];
        var written = new PitchlyTokenRecord[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            written[i] = await store.SetAsync(keys[i], Tokens(), cancel);
        }

        for (var i = 0; i < keys.Length; i++)
        {
            var read = NotNull(await store.GetAsync(keys[i], cancel), $"the record of {keys[i]} read as none after records of other keys were written.");
            RequireSameTokens(written[i], read, $"the record of {keys[i]} after records of other keys were written");
        }

        Unless(await store.RemoveAsync(keys[2], expectedVersion: null, cancel), $"removing the record of {keys[2]} answered false.");
        Unless(await store.GetAsync(keys[3], cancel) is not null, $"removing the record of {keys[2]} removed the record of {keys[3]} too.");
        Unless(await store.GetAsync(keys[0], cancel) is not null, $"removing the record of {keys[2]} removed the record of {keys[0]} too.");
        var fresh = await store.SetAsync(keys[0], Tokens(), cancel);
        var other = NotNull(await store.GetAsync(keys[1], cancel), $"writing the record of {keys[0]} removed the record of {keys[1]}.");
        RequireSameTokens(written[1], other, $"the record of {keys[1]} after the record of {keys[0]} was written");
        Unless(await store.GetAsync(keys[2], cancel) is null, $"the removed record of {keys[2]} came back when {keys[0]} was written (version {fresh.Version}).");
    }

    private async Task StoreAssignsVersionAndIntentAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var planted = new PitchlyRefreshIntent("someone-else", DateTimeOffset.UtcNow.AddHours(1));
        const long claimedVersion = long.MaxValue - 7;
        var set = await store.SetAsync(key, Tokens() with { Version = claimedVersion, RefreshIntent = planted }, cancel);
        Unless(set.Version != claimedVersion, $"SetAsync kept the version {claimedVersion} the caller put in the record.");
        Unless(set.RefreshIntent is null, "SetAsync kept the refresh intent the caller put in the record.");
        var read = NotNull(await store.GetAsync(key, cancel), "a record just written read as none.");
        Unless(read.RefreshIntent is null, "a record written with SetAsync, whose caller put a refresh intent in it, read with that intent.");

        var replaced = NotNull(
            await store.TryReplaceAsync(key, set.Version, Tokens() with { Version = claimedVersion, RefreshIntent = planted }, cancel),
            "TryReplaceAsync at the current version was refused.");
        Unless(replaced.Version != claimedVersion, $"TryReplaceAsync kept the version {claimedVersion} the caller put in the record.");
        Unless(replaced.RefreshIntent is null, "TryReplaceAsync kept the refresh intent the caller put in the record.");
        Unless(
            await store.TryBeginRefreshAsync(key, replaced.Version, "conformance-owner", LongFence, cancel) is not null,
            "a record whose writer put another owner's refresh intent in it refused a fence: the store kept the caller's intent.");
    }

    private async Task VersionsRiseOnEveryWriteAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var last = await store.SetAsync(key, Tokens(), cancel);
        Unless(last.Version > 0, $"SetAsync gave the record version {last.Version}; versions are positive (0 means \"no record\").");
        async Task NextAsync(string write, ValueTask<PitchlyTokenRecord?> pending)
        {
            var next = NotNull(await pending, $"{write} at the current version was refused.");
            Unless(next.Version > last.Version, $"{write} gave the record version {next.Version}, not above the previous {last.Version}.");
            last = next;
        }

        await NextAsync("SetAsync", AsNullable(store.SetAsync(key, Tokens(), cancel)));
        await NextAsync("TryReplaceAsync", store.TryReplaceAsync(key, last.Version, Tokens(), cancel));
        await NextAsync("TryBeginRefreshAsync", store.TryBeginRefreshAsync(key, last.Version, "conformance-owner", LongFence, cancel));
        await NextAsync("TryReplaceAsync over a fence", store.TryReplaceAsync(key, last.Version, Tokens(), cancel));
        await NextAsync("TryBeginRefreshAsync", store.TryBeginRefreshAsync(key, last.Version, "conformance-owner-2", LongFence, cancel));
        await NextAsync("SetAsync over a fence", AsNullable(store.SetAsync(key, Tokens(), cancel)));
        var read = NotNull(await store.GetAsync(key, cancel), "a record just written read as none.");
        Unless(read.Version == last.Version, $"the last write returned version {last.Version} but the record read has version {read.Version}.");
    }

    private async Task VersionsNeverRepeatAfterRemovalAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var first = await store.SetAsync(key, Tokens(), cancel);
        var second = await store.SetAsync(key, Tokens(), cancel);
        Unless(await store.RemoveAsync(key, expectedVersion: null, cancel), "removing a record answered false.");
        var recreated = await store.SetAsync(key, Tokens(), cancel);
        Unless(recreated.Version > second.Version, $"a record removed at version {second.Version} and created again with SetAsync got version {recreated.Version}: a version of the removed record can come back (ABA).");
        Unless(await store.TryReplaceAsync(key, first.Version, Tokens(), cancel) is null, "TryReplaceAsync with a version of the removed record overwrote the new one.");

        Unless(await store.RemoveAsync(key, recreated.Version, cancel), "removing a record at its current version answered false.");
        var created = NotNull(await store.TryReplaceAsync(key, 0, Tokens(), cancel), "TryReplaceAsync with version 0 after the record was removed was refused.");
        Unless(created.Version > recreated.Version, $"a record removed at version {recreated.Version} and created again with TryReplaceAsync got version {created.Version} (ABA).");
        foreach (var stale in new[] { first.Version, second.Version, recreated.Version })
        {
            Unless(await store.TryReplaceAsync(key, stale, Tokens(), cancel) is null, $"TryReplaceAsync with version {stale} of a removed record overwrote the record created since.");
            Unless(await store.TryBeginRefreshAsync(key, stale, "conformance-stale", LongFence, cancel) is null, $"TryBeginRefreshAsync with version {stale} of a removed record fenced the record created since.");
            Unless(!await store.RemoveAsync(key, stale, cancel), $"RemoveAsync with version {stale} of a removed record removed the record created since.");
        }
    }

    private async Task CompareAndSwapRefusesStaleVersionAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var first = await store.SetAsync(key, Tokens(), cancel);
        var second = NotNull(await store.TryReplaceAsync(key, first.Version, Tokens(), cancel), "TryReplaceAsync at the current version was refused.");
        Unless(await store.TryReplaceAsync(key, first.Version, Tokens(), cancel) is null, $"TryReplaceAsync with the stale version {first.Version} overwrote version {second.Version}.");
        Unless(await store.TryReplaceAsync(key, 0, Tokens(), cancel) is null, "TryReplaceAsync with version 0 (\"only if there is no record\") overwrote an existing record.");
        Unless(await store.TryReplaceAsync(key, second.Version + 1, Tokens(), cancel) is null, $"TryReplaceAsync with version {second.Version + 1}, which the record never had, overwrote version {second.Version}.");
        var read = NotNull(await store.GetAsync(key, cancel), "refused compare-and-swaps removed the record.");
        Unless(read.Version == second.Version, $"refused compare-and-swaps changed the version from {second.Version} to {read.Version}.");
        RequireSameTokens(second, read, "the record after refused compare-and-swaps");

        var absent = NewUserKey();
        Unless(await store.TryReplaceAsync(absent, first.Version, Tokens(), cancel) is null, "TryReplaceAsync with a positive version created a record where there was none.");
        Unless(await store.GetAsync(absent, cancel) is null, "a refused TryReplaceAsync created a record.");
        var created = NotNull(await store.TryReplaceAsync(absent, 0, Tokens(), cancel), "TryReplaceAsync with version 0 where there is no record was refused.");
        Unless(await store.TryReplaceAsync(absent, 0, Tokens(), cancel) is null, $"a second TryReplaceAsync with version 0 overwrote the record the first created (version {created.Version}).");
    }

    private async Task CompareAndDeleteRefusesStaleVersionAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var first = await store.SetAsync(key, Tokens(), cancel);
        var second = await store.SetAsync(key, Tokens(), cancel);
        Unless(!await store.RemoveAsync(key, first.Version, cancel), $"RemoveAsync with the stale version {first.Version} answered true over version {second.Version}.");
        var read = NotNull(await store.GetAsync(key, cancel), $"RemoveAsync with the stale version {first.Version} removed the record at version {second.Version}.");
        Unless(read.Version == second.Version, $"a refused RemoveAsync changed the version from {second.Version} to {read.Version}.");
        Unless(await store.RemoveAsync(key, second.Version, cancel), "RemoveAsync at the current version answered false.");
        Unless(await store.GetAsync(key, cancel) is null, "RemoveAsync at the current version answered true but the record still reads.");
        Unless(!await store.RemoveAsync(key, second.Version, cancel), "RemoveAsync of a record already removed answered true.");
        Unless(!await store.RemoveAsync(key, expectedVersion: null, cancel), "an unconditional RemoveAsync where there is no record answered true.");

        var unfenced = await store.SetAsync(key, Tokens(), cancel);
        var fenced = await FenceAtAsync(key, unfenced.Version, "conformance-owner", cancel);
        Unless(!await store.RemoveAsync(key, unfenced.Version, cancel), $"RemoveAsync with version {unfenced.Version}, from before the fence, removed the fenced record.");
        Unless(await store.RemoveAsync(key, fenced.Version, cancel), "RemoveAsync at the version of a fenced record answered false.");
    }

    private async Task FenceRequiresCurrentVersionAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var first = await store.SetAsync(key, Tokens(), cancel);
        var second = await store.SetAsync(key, Tokens(), cancel);
        Unless(await store.TryBeginRefreshAsync(key, first.Version, "conformance-owner", LongFence, cancel) is null, $"TryBeginRefreshAsync with the stale version {first.Version} fenced version {second.Version}.");
        var read = NotNull(await store.GetAsync(key, cancel), "a refused fence removed the record.");
        Unless(read.Version == second.Version && read.RefreshIntent is null, $"a refused fence changed the record (version {second.Version} → {read.Version}, intent {read.RefreshIntent}).");

        Unless(await store.RemoveAsync(key, second.Version, cancel), "RemoveAsync at the current version answered false.");
        Unless(await store.TryBeginRefreshAsync(key, second.Version, "conformance-owner", LongFence, cancel) is null, "TryBeginRefreshAsync at the version of a removed record was granted.");
        Unless(await store.GetAsync(key, cancel) is null, "TryBeginRefreshAsync on a removed record created a record.");

        var absent = NewUserKey();
        Unless(await store.TryBeginRefreshAsync(absent, first.Version, "conformance-owner", LongFence, cancel) is null, "TryBeginRefreshAsync where there is no record was granted.");
        Unless(await store.GetAsync(absent, cancel) is null, "TryBeginRefreshAsync where there was no record created one.");
    }

    private async Task FenceIsStoredWithItsDeadlineAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var tokens = Tokens() with { RefreshTokenMayBeSpent = true, Sessions = [new PitchlySession("conformance-fenced-session", Truncated(DateTimeOffset.UtcNow))] };
        var written = await store.SetAsync(key, tokens, cancel);
        var before = DateTimeOffset.UtcNow;
        var fenced = NotNull(await store.TryBeginRefreshAsync(key, written.Version, "conformance-owner", LongFence, cancel), "TryBeginRefreshAsync at the current version of an unfenced record was refused.");
        var after = DateTimeOffset.UtcNow;
        var intent = NotNull(fenced.RefreshIntent, "the record TryBeginRefreshAsync returned carries no refresh intent.");
        Unless(intent.Owner == "conformance-owner", $"the fence's owner is '{intent.Owner}', not the one that wrote it.");
        RequireDeadline(intent.Deadline, before + LongFence, after + LongFence, "the fence TryBeginRefreshAsync returned");
        Unless(fenced.Version > written.Version, $"the fence gave the record version {fenced.Version}, not above {written.Version}.");
        RequireSameTokens(tokens, fenced, "the record TryBeginRefreshAsync returned (a fence leaves the tokens as they were)");

        var read = NotNull(await store.GetAsync(key, cancel), "a fenced record read as none.");
        var readIntent = NotNull(read.RefreshIntent, "a fenced record read without its refresh intent.");
        Unless(read.Version == fenced.Version, $"the fence returned version {fenced.Version} but the record read has version {read.Version}.");
        Unless(readIntent.Owner == intent.Owner && (readIntent.Deadline - intent.Deadline).Duration() < OneMillisecond, $"the fence read back as {readIntent}, not as written ({intent}).");
        RequireSameTokens(tokens, read, "the fenced record read");
    }

    private async Task LiveFenceRefusesOtherOwnersAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var fenced = await FenceAsync(key, "conformance-first", LongFence, cancel);
        // Owners are compared as the token manager makes them (lower-case GUIDs): a store may compare them ignoring case.
        foreach (var other in new[] { "conformance-second", "conformance-first-x", "conformance-firs" })
        {
            Unless(
                await store.TryBeginRefreshAsync(key, fenced.Version, other, LongFence, cancel) is null,
                $"owner '{other}' fenced a record at its current version while the fence of 'conformance-first' was live (a second spend of one refresh token).");
        }

        var read = NotNull(await store.GetAsync(key, cancel), "a fenced record read as none.");
        Unless(read.Version == fenced.Version && read.RefreshIntent?.Owner == "conformance-first", $"refused fences changed the record (version {fenced.Version} → {read.Version}, intent {read.RefreshIntent}).");
    }

    private async Task FenceLapsesAtDeadlineAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var written = await store.SetAsync(key, Tokens(), cancel);
        var since = Stopwatch.StartNew();
        var fenced = NotNull(
            await store.TryBeginRefreshAsync(key, written.Version, "conformance-first", options.FenceLifetime, cancel),
            "TryBeginRefreshAsync at the current version of an unfenced record was refused.");
        var early = await store.TryBeginRefreshAsync(key, fenced.Version, "conformance-second", LongFence, cancel);
        Unless(early is null || since.Elapsed >= options.FenceLifetime, $"another owner fenced the record {since.Elapsed.TotalMilliseconds:F0} ms into a fence of {options.FenceLifetime.TotalMilliseconds:F0} ms.");
        if (early is not null)
        {
            throw new RuleBrokenException($"the store took longer than the fence's lifetime ({options.FenceLifetime}) to answer; raise FenceLifetime.");
        }

        var lapsed = options.FenceLifetime + options.ClockTolerance - since.Elapsed;
        if (lapsed > TimeSpan.Zero)
        {
            await Task.Delay(lapsed, cancel);
        }

        var claimed = NotNull(
            await store.TryBeginRefreshAsync(key, fenced.Version, "conformance-second", LongFence, cancel),
            $"another owner could not fence the record {since.Elapsed.TotalMilliseconds:F0} ms after a fence of {options.FenceLifetime.TotalMilliseconds:F0} ms was written: the fence did not lapse at its deadline.");
        Unless(claimed.RefreshIntent?.Owner == "conformance-second", $"the fence that claimed a lapsed one carries {claimed.RefreshIntent}, not its own owner.");
        Unless(
            await store.TryBeginRefreshAsync(key, claimed.Version, "conformance-first", LongFence, cancel) is null,
            "the owner of the lapsed fence fenced the record again while the new owner's fence was live.");
    }

    private async Task OwnerMayExtendItsOwnFenceAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var tokens = Tokens() with { RefreshTokenMayBeSpent = true };
        var written = await store.SetAsync(key, tokens, cancel);
        var first = NotNull(
            await store.TryBeginRefreshAsync(key, written.Version, "conformance-owner", options.FenceLifetime, cancel),
            "TryBeginRefreshAsync at the current version of an unfenced record was refused.");
        var before = DateTimeOffset.UtcNow;
        var extended = NotNull(
            await store.TryBeginRefreshAsync(key, first.Version, "conformance-owner", LongFence, cancel),
            "the owner of a live fence could not write it again at the current version (the token manager extends its fence so while it stores new tokens).");
        var after = DateTimeOffset.UtcNow;
        Unless(extended.RefreshIntent?.Owner == "conformance-owner", $"the extended fence carries {extended.RefreshIntent}, not its owner.");
        RequireDeadline(extended.RefreshIntent!.Deadline, before + LongFence, after + LongFence, "the extended fence");
        Unless(extended.Version > first.Version, $"the extension gave the record version {extended.Version}, not above {first.Version}.");
        RequireSameTokens(tokens, extended, "the record the extension returned (a fence leaves the tokens as they were)");

        var read = NotNull(await store.GetAsync(key, cancel), "a fenced record read as none.");
        Unless(read.Version == extended.Version && read.RefreshIntent?.Owner == "conformance-owner", $"the extended fence read back as version {read.Version} with {read.RefreshIntent}.");

        // Long after the first fence's lifetime, the extension still holds other owners off.
        var lapseOfFirst = options.FenceLifetime + options.ClockTolerance - (DateTimeOffset.UtcNow - before);
        if (lapseOfFirst > TimeSpan.Zero)
        {
            await Task.Delay(lapseOfFirst, cancel);
        }

        Unless(
            await store.TryBeginRefreshAsync(key, extended.Version, "conformance-other", LongFence, cancel) is null,
            "another owner fenced the record after the first fence's deadline although its owner had extended it.");
        Unless(
            await store.TryBeginRefreshAsync(key, first.Version, "conformance-owner", LongFence, cancel) is null,
            "the owner wrote its fence again at a version that had moved on.");
    }

    private async Task OtherWritesClearFenceAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var fenced = await FenceAsync(key, "conformance-first", LongFence, cancel);
        var set = await store.SetAsync(key, Tokens(), cancel);
        Unless(set.RefreshIntent is null, "SetAsync over a fenced record returned a record with the fence.");
        fenced = await RequireUnfencedAsync(key, set.Version, "SetAsync", "conformance-second", cancel);

        var replaced = NotNull(await store.TryReplaceAsync(key, fenced.Version, Tokens(), cancel), "TryReplaceAsync at the version of a fenced record was refused.");
        Unless(replaced.RefreshIntent is null, "TryReplaceAsync over a fenced record returned a record with the fence.");
        fenced = await RequireUnfencedAsync(key, replaced.Version, "TryReplaceAsync", "conformance-third", cancel);

        Unless(await store.RemoveAsync(key, fenced.Version, cancel), "RemoveAsync at the version of a fenced record answered false.");
        var created = NotNull(await store.TryReplaceAsync(key, 0, Tokens(), cancel), "TryReplaceAsync with version 0 after the record was removed was refused.");
        Unless(created.RefreshIntent is null, "a record created again after a fenced one was removed carries the old fence.");
        await RequireUnfencedAsync(key, created.Version, "RemoveAsync and a new record", "conformance-fourth", cancel);
    }

    private async Task ConcurrentCompareAndSwapHasOneWinnerAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var instances = await InstancesAsync(cancel);
        var current = await store.SetAsync(key, Tokens(), cancel);

        // Rounds in lockstep: every writer presents the same version at once; exactly one may win.
        var writers = Math.Max(2, options.ConcurrentWriters);
        var rounds = Math.Max(1, options.CompareAndSwapAttempts / 2 / writers);
        for (var round = 0; round < rounds; round++)
        {
            var expected = current.Version;
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var attempts = Enumerable.Range(0, writers)
                .Select(writer => Task.Run(async () =>
                {
                    await start.Task.WaitAsync(cancel);
                    return await RacingReplaceAsync(instances[writer % instances.Length], key, expected, cancel);
                }, cancel))
                .ToArray();
            start.SetResult();
            var winners = (await Task.WhenAll(attempts)).Where(record => record is not null).ToList();
            Unless(winners.Count == 1, $"{winners.Count} of {writers} compare-and-swaps racing on version {expected} won (round {round + 1}).");
            current = winners[0]!;
        }

        // Free-running: every writer reads and swaps as fast as it can; the winners must form one chain of versions.
        var wins = new ConcurrentBag<(long Expected, long Stored)>();
        var perWriter = Math.Max(1, (options.CompareAndSwapAttempts - (rounds * writers)) / writers);
        var origin = current.Version;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            var instance = instances[writer % instances.Length];
            var expected = origin;
            for (var attempt = 0; attempt < perWriter; attempt++)
            {
                if (await RacingReplaceAsync(instance, key, expected, cancel) is { } stored)
                {
                    wins.Add((expected, stored.Version));
                    expected = stored.Version;
                }
                else
                {
                    expected = (await instance.GetAsync(key, cancel))?.Version ?? expected;
                }
            }
        }, cancel)));

        var chain = wins.OrderBy(win => win.Stored).ToList();
        var twice = chain.GroupBy(win => win.Expected).FirstOrDefault(group => group.Count() > 1);
        Unless(twice is null, $"{twice?.Count()} compare-and-swaps on version {twice?.Key} all won.");
        var previous = origin;
        foreach (var win in chain)
        {
            Unless(win.Expected == previous, $"the winning compare-and-swaps do not form one chain: a write at version {win.Stored} replaced version {win.Expected}, but version {previous} was stored before it.");
            previous = win.Stored;
        }

        Unless(
            await store.TryReplaceAsync(key, previous, Tokens(), cancel) is not null,
            $"after the race the last winner's version {previous} is not the stored one: a write won without being counted.");
    }

    private async Task ConcurrentFencesHaveOneWinnerAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var instances = await InstancesAsync(cancel);
        var writers = Math.Max(2, options.ConcurrentWriters);
        for (var round = 0; round < 25; round++)
        {
            var written = await store.SetAsync(key, Tokens(), cancel);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var attempts = Enumerable.Range(0, writers)
                .Select(writer => Task.Run(async () =>
                {
                    await start.Task.WaitAsync(cancel);
                    return await RacingFenceAsync(instances[writer % instances.Length], key, written.Version, $"conformance-owner-{writer}", cancel);
                }, cancel))
                .ToArray();
            start.SetResult();
            var winners = (await Task.WhenAll(attempts)).Where(record => record is not null).ToList();
            Unless(winners.Count == 1, $"{winners.Count} of {writers} fences racing on version {written.Version} won (round {round + 1}): two owners could spend one refresh token.");
            var read = NotNull(await store.GetAsync(key, cancel), "a fenced record read as none.");
            Unless(read.RefreshIntent?.Owner == winners[0]!.RefreshIntent?.Owner, $"the winning fence belongs to {winners[0]!.RefreshIntent?.Owner} but the record read carries {read.RefreshIntent}.");
        }
    }

    private async Task DataSurvivesNewInstanceAsync(CancellationToken cancel)
    {
        var plain = NewUserKey();
        var tokens = Tokens() with { RefreshTokenMayBeSpent = true, Sessions = [new PitchlySession("conformance-session", Truncated(DateTimeOffset.UtcNow))] };
        var written = await store.SetAsync(plain, tokens, cancel);
        var fencedKey = NewUserKey();
        var fenced = await FenceAsync(fencedKey, "conformance-first", LongFence, cancel);
        var removedKey = NewUserKey();
        var removed = await store.SetAsync(removedKey, Tokens(), cancel);
        Unless(await store.RemoveAsync(removedKey, removed.Version, cancel), "RemoveAsync at the current version answered false.");

        var other = await newStore(cancel);
        var read = NotNull(await other.GetAsync(plain, cancel), "a record read as none through a new store instance.");
        Unless(read.Version == written.Version, $"a record of version {written.Version} read as version {read.Version} through a new store instance.");
        RequireSameTokens(tokens, read, "the record read through a new store instance");
        var readFenced = NotNull(await other.GetAsync(fencedKey, cancel), "a fenced record read as none through a new store instance.");
        Unless(
            readFenced.Version == fenced.Version && readFenced.RefreshIntent?.Owner == "conformance-first" && (readFenced.RefreshIntent.Deadline - fenced.RefreshIntent!.Deadline).Duration() < OneMillisecond,
            $"a fenced record (version {fenced.Version}, {fenced.RefreshIntent}) read as version {readFenced.Version} with {readFenced.RefreshIntent} through a new store instance.");
        Unless(
            await other.TryBeginRefreshAsync(fencedKey, fenced.Version, "conformance-second", LongFence, cancel) is null,
            "another owner fenced a record through a new store instance while the fence written through the first one was live.");
        Unless(await other.GetAsync(removedKey, cancel) is null, "a removed record read as a record through a new store instance.");

        var replaced = NotNull(await other.TryReplaceAsync(plain, written.Version, Tokens(), cancel), "TryReplaceAsync at the current version was refused through a new store instance.");
        Unless(replaced.Version > written.Version, $"a write through a new store instance gave version {replaced.Version}, not above {written.Version}.");

        Unless(await store.RemoveAsync(plain, expectedVersion: null, cancel), "removing a record answered false.");
        var recreated = await other.SetAsync(plain, Tokens(), cancel);
        Unless(recreated.Version > replaced.Version, $"a record removed at version {replaced.Version} and created again through another store instance got version {recreated.Version} (ABA).");
    }

    private async Task InstancesDecideOnSharedDataAsync(CancellationToken cancel)
    {
        var key = NewUserKey();
        var other = await newStore(cancel);
        var first = await store.SetAsync(key, Tokens(), cancel);
        _ = await other.GetAsync(key, cancel); // lets the other instance cache what it read, if it caches
        var second = NotNull(await store.TryReplaceAsync(key, first.Version, Tokens(), cancel), "TryReplaceAsync at the current version was refused.");

        Unless(await other.TryReplaceAsync(key, first.Version, Tokens(), cancel) is null, $"a compare-and-swap at version {first.Version} won on another instance after version {second.Version} was written: it was decided on a stale copy.");
        Unless(await other.TryBeginRefreshAsync(key, first.Version, "conformance-stale", LongFence, cancel) is null, $"a fence at version {first.Version} was granted on another instance after version {second.Version} was written.");
        Unless(!await other.RemoveAsync(key, first.Version, cancel), $"a compare-and-delete at version {first.Version} removed the record on another instance after version {second.Version} was written.");

        var third = NotNull(await other.TryReplaceAsync(key, second.Version, Tokens(), cancel), $"a compare-and-swap at the current version {second.Version} was refused on another instance.");
        var fenced = NotNull(await store.TryBeginRefreshAsync(key, third.Version, "conformance-first", LongFence, cancel), $"a fence at the current version {third.Version} was refused.");
        Unless(await other.TryBeginRefreshAsync(key, fenced.Version, "conformance-second", LongFence, cancel) is null, "another owner fenced the record on another instance while a fence was live.");

        Unless(await store.RemoveAsync(key, fenced.Version, cancel), "RemoveAsync at the current version answered false.");
        Unless(await other.TryReplaceAsync(key, 0, Tokens(), cancel) is not null, "TryReplaceAsync with version 0 was refused on another instance after the record was removed: it was decided on a stale copy.");
    }

    /// <summary>
    /// A racing compare-and-swap, retried as the token manager retries its writes when the store answers with the
    /// retryable <see cref="PitchlyTokenStoreUnavailableException"/> (a write whose outcome is unknown, for example one
    /// no replica acknowledged in time): the same write again, and a refusal after a retry counts as this writer's win
    /// when the stored record holds its tokens (its first attempt landed).
    /// </summary>
    private async Task<PitchlyTokenRecord?> RacingReplaceAsync(IPitchlyTokenStore instance, PitchlyTokenKey key, long expected, CancellationToken cancel)
    {
        var record = Tokens();
        var retrying = Stopwatch.StartNew();
        var retried = false;
        while (true)
        {
            try
            {
                var stored = await instance.TryReplaceAsync(key, expected, record, cancel);
                if (stored is not null || !retried)
                {
                    return stored;
                }

                var current = await instance.GetAsync(key, cancel);
                return current?.AccessToken == record.AccessToken && current.RefreshToken == record.RefreshToken ? current : null;
            }
            catch (PitchlyTokenStoreUnavailableException) when (retrying.Elapsed < UnavailableRetryTimeout)
            {
                retried = true;
                await Task.Delay(UnavailableRetryDelay, cancel);
            }
        }
    }

    /// <summary>
    /// A racing fence. When the store answers with the retryable <see cref="PitchlyTokenStoreUnavailableException"/>
    /// the fence may have been written or not: the record tells (the token manager never retries a fence).
    /// </summary>
    private static async Task<PitchlyTokenRecord?> RacingFenceAsync(IPitchlyTokenStore instance, PitchlyTokenKey key, long expected, string owner, CancellationToken cancel)
    {
        try
        {
            return await instance.TryBeginRefreshAsync(key, expected, owner, LongFence, cancel);
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            var current = await instance.GetAsync(key, cancel);
            return current?.RefreshIntent?.Owner == owner ? current : null;
        }
    }

    private async ValueTask<IPitchlyTokenStore[]> InstancesAsync(CancellationToken cancel)
    {
        var instances = new IPitchlyTokenStore[Math.Max(1, options.ConcurrentInstances)];
        instances[0] = store;
        for (var i = 1; i < instances.Length; i++)
        {
            instances[i] = await newStore(cancel);
        }

        return instances;
    }

    /// <summary>Requires the record to read without a fence, and to take a new owner's fence (which it returns).</summary>
    private async Task<PitchlyTokenRecord> RequireUnfencedAsync(PitchlyTokenKey key, long version, string write, string newOwner, CancellationToken cancel)
    {
        var read = NotNull(await store.GetAsync(key, cancel), $"the record read as none after {write}.");
        Unless(read.RefreshIntent is null, $"the record read after {write} still carries the fence {read.RefreshIntent}.");
        return NotNull(
            await store.TryBeginRefreshAsync(key, version, newOwner, LongFence, cancel),
            $"a new owner could not fence the record after {write}: the old fence was hidden, not cleared.");
    }

    private async Task<PitchlyTokenRecord> FenceAsync(PitchlyTokenKey key, string owner, TimeSpan lifetime, CancellationToken cancel)
    {
        var written = await store.SetAsync(key, Tokens(), cancel);
        return NotNull(await store.TryBeginRefreshAsync(key, written.Version, owner, lifetime, cancel), "TryBeginRefreshAsync at the current version of an unfenced record was refused.");
    }

    private async Task<PitchlyTokenRecord> FenceAtAsync(PitchlyTokenKey key, long version, string owner, CancellationToken cancel)
        => NotNull(await store.TryBeginRefreshAsync(key, version, owner, LongFence, cancel), "TryBeginRefreshAsync at the current version of an unfenced record was refused.");

    private void RequireDeadline(DateTimeOffset deadline, DateTimeOffset earliest, DateTimeOffset latest, string what)
        => Unless(
            deadline >= earliest - options.ClockTolerance && deadline <= latest + options.ClockTolerance,
            $"{what} has the deadline {deadline:O}; expected the lifetime from when the store applied it, between {earliest:O} and {latest:O} (± ClockTolerance {options.ClockTolerance}).");

    private static void RequireSameTokens(PitchlyTokenRecord expected, PitchlyTokenRecord actual, string what)
    {
        static bool SameInstant(DateTimeOffset? left, DateTimeOffset? right)
            => left is null ? right is null : right is not null && (left.Value - right.Value).Duration() < OneMillisecond;

        Unless(actual.AccessToken == expected.AccessToken, $"{what} has a different access token (length {actual.AccessToken?.Length} instead of {expected.AccessToken.Length}).");
        Unless(actual.RefreshToken == expected.RefreshToken, $"{what} has a different refresh token ({Describe(actual.RefreshToken)} instead of {Describe(expected.RefreshToken)}).");
        Unless(SameInstant(actual.ExpiresAt, expected.ExpiresAt), $"{what} expires at {actual.ExpiresAt:O} instead of {expected.ExpiresAt:O}.");
        Unless(SameInstant(actual.IssuedAt, expected.IssuedAt), $"{what} was issued at {actual.IssuedAt:O} instead of {expected.IssuedAt:O}.");
        Unless(actual.Scope == expected.Scope, $"{what} has scope '{actual.Scope}' instead of '{expected.Scope}'.");
        Unless(actual.OrganizationId == expected.OrganizationId, $"{what} has organization '{actual.OrganizationId}' instead of '{expected.OrganizationId}'.");
        Unless(actual.RefreshTokenMayBeSpent == expected.RefreshTokenMayBeSpent, $"{what} has RefreshTokenMayBeSpent {actual.RefreshTokenMayBeSpent} instead of {expected.RefreshTokenMayBeSpent}.");
        Unless(
            expected.Sessions is null
                ? actual.Sessions is null
                : actual.Sessions is not null && actual.Sessions.Count == expected.Sessions.Count
                    && actual.Sessions.Zip(expected.Sessions).All(pair => pair.First.Id == pair.Second.Id && SameInstant(pair.First.CreatedAt, pair.Second.CreatedAt)),
            $"{what} has sessions [{Sessions(actual)}] instead of [{Sessions(expected)}] (same ids and creation times, in order; none stays none).");

        static string Describe(string? token) => token is null ? "none" : $"length {token.Length}";

        static string Sessions(PitchlyTokenRecord record) => record.Sessions is null ? "none" : string.Join(", ", record.Sessions.Select(s => s.Id));
    }

    private static async ValueTask<PitchlyTokenRecord?> AsNullable(ValueTask<PitchlyTokenRecord> pending) => await pending;

    private static DateTimeOffset Truncated(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    private PitchlyTokenRecord Tokens()
    {
        var now = Truncated(DateTimeOffset.UtcNow);
        return new PitchlyTokenRecord
        {
            AccessToken = NextToken("access"),
            RefreshToken = NextToken("refresh"),
            ExpiresAt = now.AddHours(1),
            IssuedAt = now,
            Scope = "conformance read write",
            OrganizationId = _organizationId,
        };
    }

    private string NextToken(string kind) => $"conformance-{kind}-{Interlocked.Increment(ref _lastToken)}";

    private PitchlyTokenKey NewUserKey() => Track(PitchlyTokenKey.ForUser(_organizationId, $"person{Interlocked.Increment(ref _lastPerson)}"));

    private PitchlyTokenKey Track(PitchlyTokenKey key)
    {
        _keys.Add(key);
        return key;
    }
}

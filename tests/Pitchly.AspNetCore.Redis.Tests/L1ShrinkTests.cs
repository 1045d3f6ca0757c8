namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// The L1's sweep replaces its maps and queue by right-sized copies once a quarter of the peak or less is left, and the
/// swap keeps the cache's rules: an entry cached before it is still served, an eviction that races with it still wins,
/// an insert that races with it is kept, and the running totals and the index still match what is cached.
/// </summary>
public sealed class L1ShrinkTests(RedisServer redis) : RedisTestScope('h'), IClassFixture<RedisServer>
{
    private const int Peak = 1_600;
    private const int Kept = 300;

    [Fact]
    public async Task A_cache_the_sweep_finds_mostly_empty_is_replaced_and_still_serves_and_evicts_what_it_held()
    {
        var reader = App();
        var writer = App();
        var keys = Keys("user", Peak);
        foreach (var key in keys)
        {
            await writer.Store.SetAsync(key, Records.Create("access-1", "refresh-1"), Cancel);
        }

        foreach (var key in keys)
        {
            Assert.Equal("access-1", (await reader.Store.GetAsync(key, Cancel))?.AccessToken);
        }

        var cache = reader.RedisStore.Cache;
        Assert.Equal(Peak, cache.Count);
        foreach (var key in keys[Kept..])
        {
            reader.RedisStore.EvictLocalCopy(key);
        }

        SweepNow(cache);

        Assert.Equal(1, cache.Shrinker.Swaps);
        Assert.Equal(Kept, cache.Count);
        Assert.Equal(Kept, cache.RememberedHashCount);
        Assert.Equal(Kept, cache.Shrinker.Peak);

        // What was cached before the swap is served from the copy, confirmed, without a read from Redis.
        foreach (var key in keys[..Kept])
        {
            Assert.Equal("access-1", cache.TryGet(key)?.AccessToken);
        }

        // An announcement still evicts from the copy: the reader sees the other instance's write.
        var current = await writer.Store.GetAsync(keys[0], Cancel);
        var replaced = await writer.Store.TryReplaceAsync(keys[0], current!.Version, Records.Create("access-2", "refresh-2"), Cancel);
        await Eventually.HoldsAsync(
            async () => (await reader.Store.GetAsync(keys[0], Cancel))?.Version == replaced!.Version,
            TimeSpan.FromSeconds(10),
            "the announcement reaches the swapped cache");

        // A sweep with nothing more to give back does not swap again.
        SweepNow(cache);
        Assert.Equal(1, cache.Shrinker.Swaps);
    }

    [Fact]
    public async Task Inserts_evictions_and_hits_racing_with_the_swap_lose_no_insert_serve_no_evicted_entry_and_miss_no_cached_one()
    {
        const int iterations = 60;
        const int churned = 50;
        var app = App();
        var cache = app.RedisStore.Cache;

        // Connected and subscribed, so the cache takes inserts.
        await app.Store.GetAsync(PitchlyTokenKey.ForUser("org-4f7d1c", "nobody"), Cancel);
        var record = Records.Create("access-1", "refresh-1");
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            // While the sweep runs (and at least once), one writer keeps caching newer versions of some keys, another
            // keeps caching then evicting others, and two readers keep reading entries cached before. An eviction moves
            // the epoch of its key's group, which (rightly) stops a racing insert in that group from being confirmed, so
            // the evicted keys' groups are kept apart from the others'.
            var toEvict = Keys($"e{iteration}", churned, group: 0);
            var toUpdate = Keys($"u{iteration}", churned, group: 1);
            var toRead = Keys($"r{iteration}", 200, group: 1);
            var filler = Keys($"f{iteration}", Peak - toRead.Length);
            foreach (var key in toRead.Concat(filler))
            {
                await AddAsync(cache, key, record with { Version = 1 });
            }

            foreach (var key in filler)
            {
                cache.Evict(cache.HashOf(key));
            }

            var swapsBefore = cache.Shrinker.Swaps;
            var lastVersion = 0L;
            var misses = 0;
            var sweeping = 1;
            using var start = new Barrier(5);
            await Task.WhenAll(
                Run(() =>
                {
                    SweepNow(cache);
                    Volatile.Write(ref sweeping, 0);
                }),
                Run(() =>
                {
                    do
                    {
                        foreach (var key in toEvict)
                        {
                            Add(key, record with { Version = 1 });
                            cache.Evict(cache.HashOf(key));
                        }
                    }
                    while (Volatile.Read(ref sweeping) == 1);
                }),
                Run(() =>
                {
                    do
                    {
                        lastVersion++;
                        foreach (var key in toUpdate)
                        {
                            Add(key, record with { AccessToken = $"access-{lastVersion}", Version = lastVersion });
                        }
                    }
                    while (Volatile.Read(ref sweeping) == 1);
                }),
                Run(() => Read(toRead)),
                Run(() => Read(Enumerable.Reverse(toRead))));

            Assert.Equal(swapsBefore + 1, cache.Shrinker.Swaps);
            Assert.Equal(0, misses);
            Assert.All(toEvict, key => Assert.Null(cache.TryGet(key)));
            Assert.All(toUpdate, key => Assert.Equal($"access-{lastVersion}", cache.TryGet(key)?.AccessToken));
            Assert.All(toRead, key => Assert.Equal("access-1", cache.TryGet(key)?.AccessToken));
            var expected = toRead.Length + toUpdate.Length;
            Assert.Equal(expected, cache.Count);
            Assert.Equal(expected, cache.RememberedHashCount);
            Assert.Equal(
                toRead.Concat(toUpdate).Sum(key => L1RecordCache.EstimateSize(key.Value, cache.HashOf(key), cache.TryGet(key)!)),
                cache.Bytes);

            foreach (var key in toRead.Concat(toUpdate))
            {
                cache.Evict(cache.HashOf(key));
            }

            Assert.Equal(0, cache.Count);
            Assert.Equal(0, cache.Bytes);

            void Add(PitchlyTokenKey key, PitchlyTokenRecord cached) => AddAsync(cache, key, cached).AsTask().GetAwaiter().GetResult();

            void Read(IEnumerable<PitchlyTokenKey> keys)
            {
                do
                {
                    foreach (var key in keys)
                    {
                        if (cache.TryGet(key) is null)
                        {
                            Interlocked.Increment(ref misses);
                        }
                    }
                }
                while (Volatile.Read(ref sweeping) == 1);
            }

            Task Run(Action work) => StartTogether.Run(start, work, Cancel);
        }
    }

    /// <summary>Runs a sweep pass, waiting out one the store's own sweep timer may be running at that moment.</summary>
    private static void SweepNow(L1RecordCache cache)
    {
        while (!cache.Sweep())
        {
            Thread.Sleep(1);
        }
    }

    /// <summary>Caches <paramref name="record"/> for <paramref name="key"/> as a read from Redis that no eviction raced with would.</summary>
    private static ValueTask AddAsync(L1RecordCache cache, PitchlyTokenKey key, PitchlyTokenRecord record) =>
        cache.AddAsync(key, cache.BeginRead(cache.HashOf(key)), record);

    // Keys of one length, so every entry has the same estimated size; with a group, only keys whose hash's first
    // character has that parity (so their epoch groups, the first character modulo 64, are apart from the other parity's).
    private static PitchlyTokenKey[] Keys(string prefix, int count, int? group = null) =>
        [.. Enumerable.Range(0, int.MaxValue)
            .Select(i => PitchlyTokenKey.ForUser("org-4f7d1c", $"{prefix}-person-{i:D6}"))
            .Where(key => group is null || RedisKeyNames.Hash(key)[0] % 2 == group)
            .Take(count)];

    private TestApp App() => Own(TestApp.Create(redis, Prefix, KeyRing));
}

using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore.Tests.Internal;

/// <summary>
/// The stores' map from keys to entries: the same answers as a dictionary under any sequence of changes (growth,
/// removals that move entries back, shrinking), hits without the lock, and lookups racing with changes that never miss
/// a key that stays and never return another key's entry.
/// </summary>
public sealed class KeyedEntryTableTests
{
    [Fact]
    public void Answers_as_a_dictionary_through_adds_replaces_removes_growth_and_shrinking()
    {
        var table = new KeyedEntryTable<Entry>();
        var model = new Dictionary<PitchlyTokenKey, Entry>();
        var keys = Enumerable.Range(0, 3_000).Select(i => Key(i)).ToArray();
        var random = new Random(2026);
        for (var step = 0; step < 60_000; step++)
        {
            var key = keys[random.Next(step < 30_000 ? keys.Length : keys.Length / 8)];
            model.TryGetValue(key, out var current);
            switch (random.Next(4))
            {
                case 0:
                    var added = new Entry(key);
                    Assert.Equal(current is null, table.TryAdd(added));
                    model.TryAdd(key, added);
                    break;
                case 1 when current is not null:
                    var replacement = new Entry(key);
                    Assert.True(table.TryReplace(current, replacement));
                    Assert.False(table.TryReplace(current, new Entry(key)));
                    model[key] = replacement;
                    break;
                case 2 when current is not null:
                    Assert.False(table.TryRemove(new Entry(key)));
                    Assert.True(table.TryRemove(current));
                    Assert.False(table.TryRemove(current));
                    model.Remove(key);
                    break;
                default:
                    Assert.Same(current, table.Find(key));
                    break;
            }

            if (step == 45_000)
            {
                // Later steps use an eighth of the keys; a sweep removes the rest (removals that move entries it has
                // yet to look at), leaving a quarter of the peak or less.
                var leaving = model.Where(pair => Array.IndexOf(keys, pair.Key) >= keys.Length / 8).ToList();
                var kept = keys.Take(keys.Length / 8).ToHashSet();
                Assert.Equal(leaving.Count, table.RemoveWhere(static (entry, kept) => !kept.Contains(entry.Key), kept));
                foreach (var (other, entry) in leaving)
                {
                    Assert.False(table.TryRemove(entry));
                    model.Remove(other);
                }

                var slots = table.Slots;
                Assert.True(table.TryShrink());
                Assert.True(table.Slots < slots);
                Assert.Equal(model.Count, table.Peak);
            }
        }

        Assert.Equal(model.Count, table.Count);
        Assert.Equal(model.Values.ToHashSet(), table.Entries().ToHashSet());
        Assert.Equal(model.Count, table.Entries().Count());
        foreach (var key in keys)
        {
            Assert.Same(model.GetValueOrDefault(key), table.Find(key));
        }

        Assert.True(table.Slots >= table.Count * 2);
    }

    [Fact]
    public void A_hit_takes_no_lock_and_a_miss_is_confirmed_under_it()
    {
        var table = new KeyedEntryTable<Entry>();
        var entries = Enumerable.Range(0, 100_000).Select(i => new Entry(Key(i))).ToArray();
        foreach (var entry in entries)
        {
            Assert.True(table.TryAdd(entry));
        }

        foreach (var entry in entries)
        {
            // A key object of its own each time: the slots are read, not a hint.
            Assert.Same(entry, table.Find(Key(int.Parse(entry.Key.PersonId!.AsSpan(4)))));
            Assert.Same(entry, table.Find(entry.Key));
        }

        Assert.Equal(0, table.LockedLookups);
        Assert.Null(table.Find(Key(-1)));
        Assert.Equal(1, table.LockedLookups);
    }

    [Fact]
    public void A_kept_key_object_is_served_its_entry_until_the_entry_leaves_the_table()
    {
        var table = new KeyedEntryTable<Entry>();
        var other = new KeyedEntryTable<Entry>();
        var kept = Key(1);
        var first = new Entry(Key(1));
        Assert.True(table.TryAdd(first));
        Assert.Same(first, table.Find(kept));
        Assert.Same(first, kept.LookupHint);

        // Another table with an entry for the same key is not answered from the hint, and the first table still is.
        var elsewhere = new Entry(Key(1));
        Assert.True(other.TryAdd(elsewhere));
        Assert.Same(elsewhere, other.Find(kept));
        Assert.Same(first, table.Find(kept));

        var second = new Entry(Key(1));
        Assert.True(table.TryReplace(first, second));
        Assert.Same(second, table.Find(kept));
        Assert.True(table.TryRemove(second));
        Assert.Null(table.Find(kept));

        // The key object an entry was added with drops its hint when the entry leaves, so it keeps no removed entry.
        var adder = Key(2);
        var added = new Entry(adder);
        table.TryAdd(added);
        Assert.Same(added, table.Find(adder));
        Assert.Same(added, adder.LookupHint);
        table.TryRemove(added);
        Assert.Null(adder.LookupHint);
    }

    [Fact]
    public void Shrinks_only_from_a_peak_worth_it_and_only_to_a_quarter_of_it()
    {
        var table = new KeyedEntryTable<Entry>();
        var entries = Enumerable.Range(0, KeyedEntryTable<Entry>.MinimumPeak - 1).Select(i => new Entry(Key(i))).ToArray();
        foreach (var entry in entries)
        {
            table.TryAdd(entry);
        }

        foreach (var entry in entries[10..])
        {
            table.TryRemove(entry);
        }

        Assert.False(table.TryShrink());

        var more = Enumerable.Range(0, 2_000).Select(i => new Entry(Key(10_000 + i))).ToArray();
        foreach (var entry in more)
        {
            table.TryAdd(entry);
        }

        foreach (var entry in more[500..])
        {
            table.TryRemove(entry);
        }

        // 510 left of a peak of 2,010: more than a quarter (502); 502 is not.
        Assert.False(table.TryShrink());
        foreach (var entry in more[..7])
        {
            table.TryRemove(entry);
        }

        Assert.False(table.TryShrink());
        table.TryRemove(more[7]);
        var slots = table.Slots;
        Assert.True(table.TryShrink());
        Assert.Equal(1, table.Shrinks);
        Assert.True(table.Slots < slots);
        Assert.All(entries[..10].Concat(more[8..500]), entry => Assert.Same(entry, table.Find(entry.Key)));
    }

    [Fact]
    public async Task Lookups_racing_with_changes_find_every_key_that_stays_and_only_its_entries()
    {
        var table = new KeyedEntryTable<Entry>();

        // Keys that stay (some replaced over and over), among keys added and removed in waves that grow and shrink the
        // table and move entries back on removal.
        var staying = Enumerable.Range(0, 500).Select(i => new Entry(Key(i))).ToArray();
        foreach (var entry in staying)
        {
            table.TryAdd(entry);
        }

        var current = (Entry[])staying.Clone();
        var stop = 0;
        var wrong = 0;
        var lookups = 0L;
        var ownKeys = Enumerable.Range(0, staying.Length).Select(Key).ToArray();
        var readers = Enumerable.Range(0, 1).Select(reader => Task.Run(() =>
        {
            var random = new Random(reader);
            var made = 0L;
            while (Volatile.Read(ref stop) == 0)
            {
                // A quarter of the lookups with the kept key objects (their hints), the rest with the reader's own,
                // hints cleared (the slots).
                var at = random.Next(staying.Length);
                var key = random.Next(4) == 0 ? staying[at].Key : ownKeys[at];
                if (!ReferenceEquals(key, staying[at].Key))
                {
                    key.LookupHint = null;
                }

                var found = table.Find(key);
                if (found is null || !found.Key.Equals(staying[at].Key))
                {
                    Interlocked.Increment(ref wrong);
                }

                made++;
            }

            Interlocked.Add(ref lookups, made);
        }, TestContext.Current.CancellationToken)).ToArray();

        var changes = Task.Run(() =>
        {
            var random = new Random(7);
            for (var wave = 0; wave < 40; wave++)
            {
                var passing = Enumerable.Range(0, 5_000).Select(i => new Entry(Key(100_000 + (wave * 10_000) + i))).ToArray();
                foreach (var entry in passing)
                {
                    Assert.True(table.TryAdd(entry));
                    var at = random.Next(current.Length);
                    var replacement = new Entry(current[at].Key);
                    Assert.True(table.TryReplace(current[at], replacement));
                    current[at] = replacement;
                }

                foreach (var entry in passing)
                {
                    Assert.True(table.TryRemove(entry));
                }

                table.TryShrink();
            }
        }, TestContext.Current.CancellationToken);

        await changes;
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(readers);

        Assert.Equal(0, wrong);
        Assert.True(lookups > 0);
        Assert.True(table.Shrinks > 0);
        Assert.Equal(staying.Length, table.Count);
        Assert.All(current, entry => Assert.Same(entry, table.Find(entry.Key)));
    }

    private static PitchlyTokenKey Key(int i) => PitchlyTokenKey.ForUser("org_1", $"psn_{i}");

    private sealed class Entry(PitchlyTokenKey key) : KeyedEntry(key);
}

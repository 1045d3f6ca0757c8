using System.Runtime.CompilerServices;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// A concurrent map from <see cref="PitchlyTokenKey"/> to <see cref="KeyedEntry"/> objects: an open-addressing table
/// whose slots hold each entry's hash beside its reference, so a lookup reads one dense array and then the one entry it
/// returns. Lookups that find their entry take no lock; a miss, and every change, takes one.
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>ConcurrentDictionary</c>: it puts a node between the bucket and the value, one more object a lookup
/// touches, and makes new nodes in bucket order each time it grows. With a large population every object a lookup
/// touches is a likely miss in the CPU's caches; here a lookup touches the slots (16 bytes each, a few per cache line,
/// compact enough to stay cached at 100,000 keys) and the entry, and compares hashes without reading any other entry.
/// </para>
/// <para>
/// Why a lookup without the lock is right: it returns only an entry it read from a slot and whose own key it compared,
/// so a hit is an entry the table held during the call, as with any concurrent map. A change can make a lookup without
/// the lock miss (a slot read half before and half after a write, an entry moved back by a removal, a table replaced as
/// it grew), so a miss is never trusted: it is looked up again under the lock. Misses are the cold path (no record
/// stored, or a read from Redis), so that lock is taken when the call already pays far more.
/// </para>
/// <para>
/// A key object remembers the entry it last found (<see cref="PitchlyTokenKey.LookupHint"/>), and a lookup with it serves
/// that entry while the entry is still in this table (<see cref="KeyedEntry.Table"/>, cleared under the lock when the
/// entry is removed or replaced): callers that keep their key objects skip the slots, the one part of a lookup whose
/// place in memory is random and so, at a large population, a cache miss. A hint may serve an entry that is being
/// replaced at that moment, as a slot read just before the replacement would.
/// </para>
/// <para>
/// Linear probing at a load of at most a half; a removal moves later entries of the run back (no tombstones), so the
/// table never fills with dead slots. It grows on the add that crossed the load (amortized O(1) per add, like any hash
/// table), and shrinks only when asked (<see cref="TryShrink"/>, from a sweep, never a request), once the count is a
/// quarter of its peak or less, so the memory of a population that left is given back.
/// </para>
/// </remarks>
/// <typeparam name="TEntry">The entries; every entry added is a <typeparamref name="TEntry"/>.</typeparam>
internal sealed class KeyedEntryTable<TEntry>
    where TEntry : KeyedEntry
{
    /// <summary>The smallest peak worth a shrink (as <see cref="ShrinkGate.MinimumPeak"/>).</summary>
    internal const int MinimumPeak = ShrinkGate.MinimumPeak;

    /// <summary>The most slots a lookup reads without the lock before it looks again under it.</summary>
    internal const int MaxUnlockedProbes = 32;

    /// <summary>The slots a sweep (<see cref="RemoveWhere"/>) looks at per taking of the lock.</summary>
    internal const int SweepChunk = 1024;

    private const int MinimumSlots = 16;

    private readonly Lock _lock = new();
    private Slot[] _slots = new Slot[MinimumSlots];
    private int _count;
    private int _peak;
    private long _lockedLookups;

    /// <summary>Gets how many entries the table holds.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Gets the number of slots (for tests).</summary>
    internal int Slots => Volatile.Read(ref _slots).Length;

    /// <summary>Gets the highest count since the last shrink (for tests).</summary>
    internal int Peak => Volatile.Read(ref _peak);

    /// <summary>Gets how many shrinks ran (for tests).</summary>
    internal int Shrinks { get; private set; }

    /// <summary>Gets how many lookups were decided under the lock (for tests).</summary>
    internal long LockedLookups => Volatile.Read(ref _lockedLookups);

    /// <summary>Gets the entry of <paramref name="key"/>, or <see langword="null"/>.</summary>
    public TEntry? Find(PitchlyTokenKey key)
    {
        // The entry this key object found last, while this table still holds it: no slot read at all.
        if (key.LookupHint is { } hinted && ReferenceEquals(Volatile.Read(ref hinted.Table), this))
        {
            return Unsafe.As<TEntry>(hinted);
        }

        var hash = key.GetHashCode();
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        var at = hash & mask;
        for (var probes = 0; probes < MaxUnlockedProbes; probes++)
        {
            ref var slot = ref slots[at];
            var entry = Volatile.Read(ref slot.Entry);
            if (entry is null)
            {
                break;
            }

            // The hash may belong to another entry than the one read (a write between the two reads): the key decides.
            if (slot.Hash == hash && entry.Key.Equals(key))
            {
                key.LookupHint = entry;
                return Unsafe.As<TEntry>(entry);
            }

            at = (at + 1) & mask;
        }

        return FindLocked(key, hash);
    }

    /// <summary>Adds <paramref name="entry"/> unless its key has an entry.</summary>
    /// <returns><see langword="true"/> if added.</returns>
    public bool TryAdd(TEntry entry)
    {
        lock (_lock)
        {
            if (IndexOf(_slots, entry.Key, entry.KeyHash) >= 0)
            {
                return false;
            }

            if ((_count + 1) * 2 > _slots.Length)
            {
                Rebuild(_slots.Length * 2);
            }

            entry.Table = this;
            Place(_slots, entry);
            var count = _count + 1;
            Volatile.Write(ref _count, count);
            if (count > _peak)
            {
                Volatile.Write(ref _peak, count);
            }

            return true;
        }
    }

    /// <summary>Puts <paramref name="replacement"/> (same key) in the place of <paramref name="current"/>, if that is still the key's entry.</summary>
    /// <returns><see langword="true"/> if replaced.</returns>
    public bool TryReplace(TEntry current, TEntry replacement)
    {
        if (!current.Key.Equals(replacement.Key))
        {
            throw new ArgumentException("A replacement must have the key of the entry it replaces.", nameof(replacement));
        }

        lock (_lock)
        {
            var at = SlotOf(current);
            if (at < 0)
            {
                return false;
            }

            replacement.Table = this;
            Volatile.Write(ref _slots[at].Entry, replacement);
            Left(current);
            return true;
        }
    }

    /// <summary>Removes <paramref name="entry"/> if it is still its key's entry.</summary>
    /// <returns><see langword="true"/> if removed.</returns>
    public bool TryRemove(TEntry entry)
    {
        lock (_lock)
        {
            var at = SlotOf(entry);
            if (at < 0)
            {
                return false;
            }

            RemoveAt(_slots, at);
            return true;
        }
    }

    /// <summary>
    /// Removes every entry <paramref name="remove"/> picks: for sweeps. It holds the lock for <see cref="SweepChunk"/> slots
    /// at a time, so writers wait at most that long; an entry moved by other writers between two chunks may be left for
    /// the next sweep.
    /// </summary>
    /// <returns>How many entries were removed.</returns>
    public int RemoveWhere<TState>(Func<TEntry, TState, bool> remove, TState state)
    {
        var removed = 0;
        for (var at = 0; ;)
        {
            lock (_lock)
            {
                var slots = _slots;
                if (at >= slots.Length)
                {
                    return removed;
                }

                for (var end = Math.Min(at + SweepChunk, slots.Length); at < end;)
                {
                    // A removal moves a later entry of the run into this slot: look at it again before going on.
                    if (slots[at].Entry is { } entry && remove(Unsafe.As<TEntry>(entry), state))
                    {
                        RemoveAt(slots, at);
                        removed++;
                    }
                    else
                    {
                        at++;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Enumerates the entries without the lock (to sort them for an eviction, say): an entry added, removed or moved
    /// meanwhile may be seen or not, or seen twice.
    /// </summary>
    public IEnumerable<TEntry> Entries()
    {
        var slots = Volatile.Read(ref _slots);
        for (var i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Entry) is { } entry)
            {
                yield return Unsafe.As<TEntry>(entry);
            }
        }
    }

    /// <summary>
    /// Gives back the spare slots once the count is a quarter of its peak or less (and the peak was at least
    /// <see cref="MinimumPeak"/>): for a sweep, never a request path.
    /// </summary>
    /// <returns><see langword="true"/> if the table shrank.</returns>
    public bool TryShrink()
    {
        lock (_lock)
        {
            if (_peak < MinimumPeak || _count > _peak / 4)
            {
                return false;
            }

            var length = MinimumSlots;
            while (length < _count * 2)
            {
                length *= 2;
            }

            if (length < _slots.Length)
            {
                Rebuild(length);
            }

            Volatile.Write(ref _peak, _count);
            Shrinks++;
            return true;
        }
    }

    private static int IndexOf(Slot[] slots, PitchlyTokenKey key, int hash)
    {
        var mask = slots.Length - 1;
        for (var at = hash & mask; slots[at].Entry is { } entry; at = (at + 1) & mask)
        {
            if (slots[at].Hash == hash && entry.Key.Equals(key))
            {
                return at;
            }
        }

        return -1;
    }

    /// <summary>Puts <paramref name="entry"/> in the first free slot from its home; the hash first, so a lookup that sees the entry sees its hash.</summary>
    private static void Place(Slot[] slots, KeyedEntry entry)
    {
        var mask = slots.Length - 1;
        var at = entry.KeyHash & mask;
        while (slots[at].Entry is not null)
        {
            at = (at + 1) & mask;
        }

        Volatile.Write(ref slots[at].Hash, entry.KeyHash);
        Volatile.Write(ref slots[at].Entry, entry);
    }

    /// <summary>
    /// Empties slot <paramref name="at"/> by backward-shift deletion: each later entry of the run whose home is not
    /// between the hole and itself moves into the hole, so every entry stays reachable from its home without tombstones.
    /// Under the lock.
    /// </summary>
    private void RemoveAt(Slot[] slots, int at)
    {
        var removed = slots[at].Entry!;
        var mask = slots.Length - 1;
        var hole = at;
        for (var next = (hole + 1) & mask; slots[next].Entry is { } moving; next = (next + 1) & mask)
        {
            var home = slots[next].Hash & mask;
            var stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
            if (!stays)
            {
                slots[hole].Hash = slots[next].Hash;
                Volatile.Write(ref slots[hole].Entry, moving);
                hole = next;
            }
        }

        Volatile.Write(ref slots[hole].Entry, null);
        Volatile.Write(ref _count, _count - 1);
        Left(removed);
    }

    /// <summary>
    /// Marks an entry taken out of the table, so no key's hint serves it, and drops the hint of the key object it was
    /// added with (so a kept key does not keep a removed entry, and the record in it, reachable). Under the lock.
    /// </summary>
    private static void Left(KeyedEntry entry)
    {
        Volatile.Write(ref entry.Table, null);
        if (ReferenceEquals(entry.Key.LookupHint, entry))
        {
            entry.Key.LookupHint = null;
        }
    }

    private TEntry? FindLocked(PitchlyTokenKey key, int hash)
    {
        Interlocked.Increment(ref _lockedLookups);
        lock (_lock)
        {
            var slots = _slots;
            var at = IndexOf(slots, key, hash);
            return at < 0 ? null : Unsafe.As<TEntry>(slots[at].Entry);
        }
    }

    /// <summary>Gets the slot that holds <paramref name="entry"/> itself, or -1. Under the lock.</summary>
    private int SlotOf(KeyedEntry entry)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var at = entry.KeyHash & mask; slots[at].Entry is { } held; at = (at + 1) & mask)
        {
            if (ReferenceEquals(held, entry))
            {
                return at;
            }
        }

        return -1;
    }

    /// <summary>Files every entry into a new array of <paramref name="length"/> slots (a power of two), then publishes it. Under the lock.</summary>
    private void Rebuild(int length)
    {
        var slots = new Slot[length];
        foreach (var slot in _slots)
        {
            if (slot.Entry is { } entry)
            {
                Place(slots, entry);
            }
        }

        Volatile.Write(ref _slots, slots);
    }

    /// <summary>An entry and its hash; the reference is read and written with <see cref="Volatile"/>.</summary>
    private struct Slot
    {
        public KeyedEntry? Entry;
        public int Hash;
    }
}

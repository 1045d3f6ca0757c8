using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Lets a periodic sweep replace per-key collections that have shrunk to a quarter of their peak with right-sized
/// copies: a <see cref="ConcurrentDictionary{TKey, TValue}"/> never shrinks its bucket array after removals (nor a
/// <see cref="ConcurrentQueue{T}"/> its last segment), so a store that once held a large population would otherwise
/// keep that memory for the life of the process.
/// </summary>
/// <remarks>
/// <para>
/// Why a swap loses nothing: every change to a guarded collection runs between <see cref="EnterWrite"/> and
/// <see cref="ExitWrite"/> and reads the collection's field inside; the swap (<see cref="TryShrink"/>) closes the gate,
/// waits for the writers inside to leave, copies, publishes the copies and reopens. No change is therefore applied to
/// an old collection once its copy began — a writer entered before the gate closed (the swap waits for it) or finds it
/// closed and waits on the swap's lock, then writes to the copy — and each copy starts with exactly what its original
/// held. The gate is a Dekker pair: a writer counts itself in (an interlocked add, a full fence) and then reads the
/// flag; the swap sets the flag (an interlocked exchange) and then reads the count, so at least one sees the other.
/// </para>
/// <para>
/// Readers take no part, so a read costs nothing more: until the publish they read the old collection, which is
/// complete; after it the copy, which starts equal. A reader that loaded the old one before the publish and looks in it
/// afterwards sees its content at the publish, which the collection held during that read. Values are copied by
/// reference, so a compare-and-update or compare-and-remove made with what a reader found works on either collection.
/// </para>
/// <para>
/// Writers wait only while a swap runs: at most once per sweep, only after the population fell to a quarter of its
/// peak, for the time it takes to copy what is left.
/// </para>
/// </remarks>
internal sealed class ShrinkGate
{
    /// <summary>The smallest peak worth a swap: below it the collections' spare capacity is a few kilobytes.</summary>
    internal const int MinimumPeak = 1024;

    private readonly Lock _swap = new();
    private int _writers;
    private int _closed;
    private int _peak;

    /// <summary>Gets the highest count noted since the last swap (for tests).</summary>
    internal int Peak => Volatile.Read(ref _peak);

    /// <summary>Gets how many swaps ran (for tests).</summary>
    internal int Swaps { get; private set; }

    /// <summary>Enters a change to a guarded collection; waits while a swap runs. Never nest, and always <see cref="ExitWrite"/>.</summary>
    public void EnterWrite()
    {
        while (true)
        {
            Interlocked.Increment(ref _writers);
            if (Volatile.Read(ref _closed) == 0)
            {
                return;
            }

            // A swap runs (and holds the lock while the flag is set): step out so it can finish, wait for it, go again.
            Interlocked.Decrement(ref _writers);
            lock (_swap)
            {
            }
        }
    }

    /// <summary>Leaves a change begun with <see cref="EnterWrite"/>.</summary>
    public void ExitWrite() => Interlocked.Decrement(ref _writers);

    /// <summary>Notes the count after an add, so the sweep knows how large the collections grew.</summary>
    public void NoteCount(int count)
    {
        // A race between two adds may keep the lower of two close counts: the peak is a threshold, not an account.
        if (count > Volatile.Read(ref _peak))
        {
            Volatile.Write(ref _peak, count);
        }
    }

    /// <summary>
    /// Runs <paramref name="swap"/> with every writer shut out if <paramref name="count"/> is at most a quarter of the
    /// peak (and the peak worth it); called by the sweep only. <paramref name="swap"/> replaces the guarded collections
    /// with copies and must not enter the gate.
    /// </summary>
    /// <returns><see langword="true"/> if the swap ran.</returns>
    public bool TryShrink(int count, Action swap)
    {
        var peak = Volatile.Read(ref _peak);
        if (peak < MinimumPeak || count > peak / 4)
        {
            return false;
        }

        lock (_swap)
        {
            Interlocked.Exchange(ref _closed, 1);
            try
            {
                var wait = default(SpinWait);
                while (Volatile.Read(ref _writers) != 0)
                {
                    wait.SpinOnce();
                }

                swap();
                Volatile.Write(ref _peak, count);
                Swaps++;
            }
            finally
            {
                Volatile.Write(ref _closed, 0);
            }
        }

        return true;
    }

    /// <summary>Copies <paramref name="map"/> into a map sized for what it holds, with its comparer.</summary>
    public static ConcurrentDictionary<TKey, TValue> Copy<TKey, TValue>(ConcurrentDictionary<TKey, TValue> map)
        where TKey : notnull
        => new(map, map.Comparer);
}

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// An entry of a <see cref="KeyedEntryTable{TEntry}"/>: the table's slots point to entries directly (no node between),
/// and a lookup confirms a slot by the entry's own key.
/// </summary>
internal abstract class KeyedEntry(PitchlyTokenKey key)
{
    /// <summary>The key's hash, as the table files the entry under.</summary>
    internal readonly int KeyHash = key.GetHashCode();

    /// <summary>
    /// The table that holds the entry, or <see langword="null"/> once it was removed or replaced (read with
    /// <see cref="Volatile"/>): what makes a key's <see cref="PitchlyTokenKey.LookupHint"/> valid.
    /// </summary>
    internal object? Table;

    /// <summary>Gets the key the entry is stored under.</summary>
    public PitchlyTokenKey Key { get; } = key;
}

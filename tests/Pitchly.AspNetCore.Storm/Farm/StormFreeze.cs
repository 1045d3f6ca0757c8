namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// The instance's test-only freeze point: with <see cref="AfterFenceKey"/> set to <c>true</c> in an instance's
/// configuration, the instance stops itself with a real <c>SIGSTOP</c> right after its first refresh fence (the intent
/// "this refresh token is being spent by me") is written to the token store, before the token manager's last check and
/// its token request, after writing <see cref="FrozenPrefix"/> and the point's name to standard output.
/// </summary>
public static class StormFreeze
{
    /// <summary>The configuration key that arms the freeze after the instance's first refresh fence.</summary>
    public const string AfterFenceKey = "Storm:FreezeAfterFence";

    /// <summary>The name of the point written after <see cref="FrozenPrefix"/>.</summary>
    public const string AfterFence = "after-fence";

    /// <summary>The prefix of the line an instance writes just before it stops itself.</summary>
    public const string FrozenPrefix = "storm-frozen: ";
}

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// The instance's test-only freeze point: with <see cref="BeforeTokenRequestKey"/> set to <c>true</c> in an instance's
/// configuration, the instance stops itself with a real <c>SIGSTOP</c> just before its first token request leaves the
/// process, after writing <see cref="FrozenPrefix"/> and the point's name to standard output.
/// </summary>
public static class StormFreeze
{
    /// <summary>The configuration key that arms the freeze before the instance's first token request.</summary>
    public const string BeforeTokenRequestKey = "Storm:FreezeBeforeTokenRequest";

    /// <summary>The name of the point written after <see cref="FrozenPrefix"/>.</summary>
    public const string BeforeTokenRequest = "before-token-request";

    /// <summary>The prefix of the line an instance writes just before it stops itself.</summary>
    public const string FrozenPrefix = "storm-frozen: ";
}

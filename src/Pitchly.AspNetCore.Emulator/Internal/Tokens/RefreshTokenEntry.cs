namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

internal sealed class RefreshTokenEntry(TokenFamily family)
{
    private int _spent;

    public TokenFamily Family { get; } = family;

    /// <summary>Spends the token atomically: of two concurrent uses exactly one gets true; the other is reuse.</summary>
    public bool TrySpend() => Interlocked.Exchange(ref _spent, 1) == 0;
}

namespace Pitchly.AspNetCore.Testing.Internal;

/// <summary>Raised inside a rule's check; the runner turns it into a <see cref="PitchlyConformanceException"/> naming the rule.</summary>
internal sealed class RuleBrokenException(string message) : Exception(message)
{
    public static void Unless(bool condition, string message)
    {
        if (!condition)
        {
            throw new RuleBrokenException(message);
        }
    }

    public static T NotNull<T>(T? value, string message)
        where T : class
        => value ?? throw new RuleBrokenException(message);
}

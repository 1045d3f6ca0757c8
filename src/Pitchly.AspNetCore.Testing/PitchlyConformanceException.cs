namespace Pitchly.AspNetCore.Testing;

/// <summary>
/// A token store or refresh lock broke a rule of the conformance kit: <see cref="Rule"/> names it, the message says what
/// was expected and what the implementation did (never a real token: the kit writes made-up ones).
/// </summary>
public sealed class PitchlyConformanceException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    public PitchlyConformanceException()
        : this("A token store or refresh lock broke a conformance rule.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PitchlyConformanceException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the underlying cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public PitchlyConformanceException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for a broken rule.</summary>
    /// <param name="rule">The rule that was broken.</param>
    /// <param name="message">What was expected and what happened.</param>
    /// <param name="innerException">What the implementation threw, if it threw.</param>
    public PitchlyConformanceException(PitchlyConformanceRule rule, string message, Exception? innerException = null)
        : base($"{rule}: {message}", innerException)
    {
        Rule = rule;
    }

    /// <summary>Gets the rule that was broken (0 when the exception was not raised for one).</summary>
    public PitchlyConformanceRule Rule { get; }
}

namespace Pitchly.AspNetCore.Testing.Internal;

/// <summary>One rule and the check that exercises it.</summary>
internal sealed record ConformanceRule(PitchlyConformanceRule Rule, Func<CancellationToken, Task> CheckAsync);

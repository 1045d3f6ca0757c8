namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>The GraphQL request bodies the handler and the body writer are measured with.</summary>
public enum BodySize
{
    /// <summary>A typical query with two variables, ~120 bytes.</summary>
    Small,

    /// <summary>A mutation carrying ~100 KB of variables.</summary>
    Large100KB,
}

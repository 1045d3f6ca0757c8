namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of <see cref="IPitchlyGraphQLClient"/> (every registered one) and of the App SDK exchange's organization
/// check: the endpoint derived from <c>Pitchly:GraphQLEndpoint</c> (the Pitchly sign-in scheme's
/// <c>GraphQLEndpoint</c>, so a value set in code on the scheme counts too), the rest from the <c>Pitchly:GraphQL</c>
/// configuration section.
/// </summary>
public sealed class PitchlyGraphQLClientOptions
{
    /// <summary>
    /// Gets or sets Pitchly's GraphQL endpoint (default: the current platform's, <c>https://api.pitchly.com/graphql</c>).
    /// Derived: left at its default it becomes <c>Pitchly:GraphQLEndpoint</c>, or the sign-in scheme's
    /// <c>GraphQLEndpoint</c>; set to another value (here or as <c>Pitchly:GraphQL:Endpoint</c>) while that one is set
    /// differently, the start fails naming both.
    /// </summary>
    public Uri Endpoint { get; set; } = new(PitchlyAuthenticationDefaults.GraphQLEndpoint);

    /// <summary>A contradiction between the endpoint settings, reported by start-up validation.</summary>
    internal string? ConfigurationFailure { get; set; }

    /// <summary>Gets or sets the largest response read (default 8 MiB); a larger answer raises a <see cref="PitchlyGraphQLException"/>.</summary>
    public int MaxResponseSize { get; set; } = 8 * 1024 * 1024;
}

namespace Pitchly.AspNetCore;

/// <summary>
/// Settings of <see cref="IPitchlyGraphQLClient"/>: the endpoint from <c>Pitchly:GraphQLEndpoint</c>, the rest from
/// the <c>Pitchly:GraphQL</c> configuration section.
/// </summary>
public sealed class PitchlyGraphQLClientOptions
{
    /// <summary>Gets or sets Pitchly's GraphQL endpoint (default: the current platform's, <c>https://api.pitchly.com/graphql</c>).</summary>
    public Uri Endpoint { get; set; } = new("https://api.pitchly.com/graphql");

    /// <summary>Gets or sets the largest response read (default 8 MiB); a larger answer raises a <see cref="PitchlyGraphQLException"/>.</summary>
    public int MaxResponseSize { get; set; } = 8 * 1024 * 1024;
}

namespace Pitchly.AspNetCore;

/// <summary>A GraphQL operation to send to Pitchly: the document, its variables and, optionally, which operation to run.</summary>
/// <param name="Query">The GraphQL document, for example <c>query Tables($id: ID!) { workspace(id: $id) { tables { id } } }</c>.</param>
/// <param name="Variables">
/// The operation's variables, or <see langword="null"/>. Values are written with the serializer settings of the call:
/// strings, numbers, booleans, <see cref="System.Text.Json.Nodes.JsonNode"/> and <see cref="System.Text.Json.JsonElement"/>
/// always; other types through the call's <see cref="System.Text.Json.JsonSerializerOptions"/>. The access token is added as
/// <c>accessToken</c> when the client's token placement includes the GraphQL variable; do not add it yourself.
/// </param>
/// <param name="OperationName">The operation to run when <paramref name="Query"/> holds several, or <see langword="null"/>.</param>
public sealed record PitchlyGraphQLRequest(string Query, IReadOnlyDictionary<string, object?>? Variables = null, string? OperationName = null)
{
    /// <summary>Gets the GraphQL document.</summary>
    public string Query { get; init; } = !string.IsNullOrWhiteSpace(Query)
        ? Query
        : throw new ArgumentException("A GraphQL request needs a query document.", nameof(Query));
}

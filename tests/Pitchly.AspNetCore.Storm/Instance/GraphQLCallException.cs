namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>A GraphQL call came back without the data asked for.</summary>
internal sealed class GraphQLCallException(string message) : Exception(message);

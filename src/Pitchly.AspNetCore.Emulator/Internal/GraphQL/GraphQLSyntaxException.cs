namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

internal sealed class GraphQLSyntaxException(string message, SourceLocation location) : Exception(message)
{
    public SourceLocation Location { get; } = location;
}

using System.Text.Json.Nodes;
using Pitchly.AspNetCore.Emulator.Internal.Data;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>What a resolver sees: its parent value, its arguments, and the request's identity and data.</summary>
internal sealed class ResolveContext(ExecutionState state, object? parent, IReadOnlyDictionary<string, JsonNode?> arguments)
{
    public RequestIdentity Identity => state.Identity;

    public OrganizationData Organization => state.Organization;

    public Func<string, PitchlyEmulatorUser?> FindUser => state.FindUser;

    public T Parent<T>() => (T)parent!;

    public JsonNode? Argument(string name) => arguments.GetValueOrDefault(name);

    public string? OptionalString(string name) => Argument(name) switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Argument \"{name}\" must be a string."),
    };

    public string RequiredString(string name) =>
        OptionalString(name) ?? throw new GraphQLFieldException(GraphQLErrorCodes.BadUserInput, $"Argument \"{name}\" is required.");

    public void RequireWrite()
    {
        if (!Identity.CanWrite)
        {
            throw new GraphQLFieldException(
                GraphQLErrorCodes.Forbidden,
                $"Not authorized: this token's scope does not include \"{PitchlyEmulatorDefaults.WriteScope}\".");
        }
    }
}

/// <summary>One execution's shared state.</summary>
internal sealed record ExecutionState(
    RequestIdentity Identity,
    OrganizationData Organization,
    Func<string, PitchlyEmulatorUser?> FindUser,
    IReadOnlyDictionary<string, JsonNode?> Variables)
{
    public List<GraphQLError> Errors { get; } = [];
}

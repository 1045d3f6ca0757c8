using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

internal sealed record GraphQLDocument(IReadOnlyList<OperationDefinition> Operations);

/// <summary>An operation: <c>query</c>, <c>mutation</c> or <c>subscription</c>, with its variables and root selections.</summary>
internal sealed record OperationDefinition(
    string Type,
    string? Name,
    IReadOnlyList<VariableDefinition> Variables,
    IReadOnlyList<FieldSelection> Selections);

internal sealed record VariableDefinition(string Name, string Type, ValueNode? DefaultValue)
{
    public bool IsRequired => Type.EndsWith('!') && DefaultValue is null;
}

internal sealed record FieldSelection(
    string? Alias,
    string Name,
    IReadOnlyList<ArgumentNode> Arguments,
    IReadOnlyList<FieldSelection>? Selections,
    SourceLocation Location)
{
    public string ResponseKey => Alias ?? Name;
}

internal sealed record ArgumentNode(string Name, ValueNode Value);

internal readonly record struct SourceLocation(int Line, int Column);

internal abstract record ValueNode;

internal sealed record VariableNode(string Name, SourceLocation Location) : ValueNode;

/// <summary>A literal scalar (string, number, boolean, enum name) or <c>null</c>.</summary>
internal sealed record ConstantNode(JsonNode? Value) : ValueNode;

internal sealed record ListNode(IReadOnlyList<ValueNode> Items) : ValueNode;

internal sealed record ObjectNode(IReadOnlyList<KeyValuePair<string, ValueNode>> Fields) : ValueNode;

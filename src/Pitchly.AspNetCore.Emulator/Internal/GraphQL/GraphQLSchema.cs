namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

internal sealed class GraphQLSchema
{
    public static readonly IReadOnlySet<string> Scalars = new HashSet<string>(StringComparer.Ordinal) { "ID", "String", "Int", "Float", "Boolean", "JSON" };

    public Dictionary<string, ObjectTypeDefinition> Types { get; } = new(StringComparer.Ordinal);

    public ObjectTypeDefinition Type(string name)
    {
        var type = new ObjectTypeDefinition(name);
        Types.Add(name, type);
        return type;
    }
}

internal sealed class ObjectTypeDefinition(string name)
{
    public string Name { get; } = name;

    public Dictionary<string, FieldDefinition> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds a field. <paramref name="type"/> is a type name, in brackets for a list (<c>[Row]</c>).</summary>
    public ObjectTypeDefinition Field(string name, string type, Func<ResolveContext, object?> resolve, params string[] arguments)
    {
        var isList = type.StartsWith('[');
        Fields.Add(name, new FieldDefinition(name, isList ? type[1..^1] : type, isList, arguments, resolve));
        return this;
    }
}

internal sealed record FieldDefinition(
    string Name,
    string TypeName,
    bool IsList,
    IReadOnlyList<string> Arguments,
    Func<ResolveContext, object?> Resolve)
{
    public bool IsScalar => GraphQLSchema.Scalars.Contains(TypeName);

    public string DisplayType => IsList ? $"[{TypeName}]" : TypeName;
}

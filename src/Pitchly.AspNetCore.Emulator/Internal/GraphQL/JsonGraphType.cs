using System.Collections;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQL.Types;
using GraphQLParser.AST;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// <c>scalar JSON</c>: any JSON value, as Pitchly's cell values are. Values are held as <see cref="JsonNode"/>; literals
/// and variables of any shape are accepted.
/// </summary>
internal sealed class JsonGraphType : ScalarGraphType
{
    public JsonGraphType()
    {
        Name = "JSON";
        Description = "Any JSON value: a cell's value.";
    }

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLBooleanValue b => JsonValue.Create(b.BoolValue),
        GraphQLIntValue i => JsonNode.Parse(i.Value.Span.ToString()),
        GraphQLFloatValue f => JsonNode.Parse(f.Value.Span.ToString()),
        GraphQLStringValue s => JsonValue.Create(s.Value.Span.ToString()),
        GraphQLEnumValue e => JsonValue.Create(e.Name.StringValue),
        GraphQLListValue list => new JsonArray([.. (list.Values ?? []).Select(v => (JsonNode?)ParseLiteral(v))]),
        GraphQLObjectValue obj => new JsonObject((obj.Fields ?? []).Select(f => new KeyValuePair<string, JsonNode?>(f.Name.StringValue, (JsonNode?)ParseLiteral(f.Value)))),
        _ => ThrowLiteralConversionError(value),
    };

    public override object? ParseValue(object? value) => ToNode(value);

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        JsonNode node => node,
        _ => ToNode(value),
    };

    public override GraphQLValue ToAST(object? value) => value switch
    {
        null => new GraphQLNullValue(),
        _ => new GraphQLStringValue(((JsonNode)value).ToJsonString()),
    };

    /// <summary>Converts a variable's value (as GraphQL.NET reads JSON: dictionaries, lists, numbers, strings) to a node.</summary>
    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonSerializer.SerializeToNode(element),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        int number => JsonValue.Create(number),
        long number => JsonValue.Create(number),
        double number => JsonValue.Create(number),
        decimal number => JsonValue.Create(number),
        BigInteger number => JsonNode.Parse(number.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        IDictionary<string, object?> obj => new JsonObject(obj.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, ToNode(p.Value)))),
        IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(ToNode)]),
        _ => JsonSerializer.SerializeToNode(value, value.GetType()),
    };
}

using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Runs a validated operation: resolves each selected field and returns only what was selected, under its response key.</summary>
internal static class GraphQLExecutor
{
    public static JsonObject Execute(OperationDefinition operation, GraphQLSchema schema, ExecutionState state)
    {
        var root = schema.Types[operation.Type == "mutation" ? "Mutation" : "Query"];
        return ExecuteSelections(root, null, operation.Selections, schema, state, []);
    }

    /// <summary>
    /// Applies an operation's variable definitions to the request's variables: provided values, else defaults; a
    /// required variable without a value is an error.
    /// </summary>
    public static Dictionary<string, JsonNode?> CoerceVariables(OperationDefinition operation, JsonObject? provided, List<GraphQLError> errors)
    {
        var variables = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var definition in operation.Variables)
        {
            if (provided is not null && provided.TryGetPropertyValue(definition.Name, out var value))
            {
                if (value is null && definition.Type.EndsWith('!'))
                {
                    errors.Add(new GraphQLError($"Variable \"${definition.Name}\" of non-null type \"{definition.Type}\" must not be null.", GraphQLErrorCodes.BadUserInput));
                }

                variables[definition.Name] = value;
            }
            else if (definition.DefaultValue is not null)
            {
                variables[definition.Name] = Evaluate(definition.DefaultValue, variables);
            }
            else if (definition.IsRequired)
            {
                errors.Add(new GraphQLError($"Variable \"${definition.Name}\" of required type \"{definition.Type}\" was not provided.", GraphQLErrorCodes.BadUserInput));
            }
        }

        return variables;
    }

    public static JsonNode? Evaluate(ValueNode value, IReadOnlyDictionary<string, JsonNode?> variables) => value switch
    {
        ConstantNode constant => constant.Value?.DeepClone(),
        VariableNode variable => variables.GetValueOrDefault(variable.Name)?.DeepClone(),
        ListNode list => new JsonArray([.. list.Items.Select(item => Evaluate(item, variables))]),
        ObjectNode obj => new JsonObject(obj.Fields.Select(f => new KeyValuePair<string, JsonNode?>(f.Key, Evaluate(f.Value, variables)))),
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    private static JsonObject ExecuteSelections(
        ObjectTypeDefinition type,
        object? parent,
        IReadOnlyList<FieldSelection> selections,
        GraphQLSchema schema,
        ExecutionState state,
        IReadOnlyList<object> path)
    {
        var result = new JsonObject();
        foreach (var field in selections)
        {
            var fieldPath = path.Append(field.ResponseKey).ToArray();
            if (field.Name == "__typename")
            {
                result[field.ResponseKey] = type.Name;
                continue;
            }

            var definition = type.Fields[field.Name];
            var arguments = field.Arguments.ToDictionary(a => a.Name, a => Evaluate(a.Value, state.Variables), StringComparer.Ordinal);
            object? value;
            try
            {
                value = definition.Resolve(new ResolveContext(state, parent, arguments));
            }
            catch (GraphQLFieldException exception)
            {
                state.Errors.Add(new GraphQLError(exception.Message, exception.Code, field.Location, fieldPath));
                result[field.ResponseKey] = null;
                continue;
            }

            result[field.ResponseKey] = Complete(definition, value, field, schema, state, fieldPath);
        }

        return result;
    }

    private static JsonNode? Complete(
        FieldDefinition definition,
        object? value,
        FieldSelection field,
        GraphQLSchema schema,
        ExecutionState state,
        object[] path)
    {
        if (value is null)
        {
            return null;
        }

        if (!definition.IsList)
        {
            return CompleteItem(definition, value, field, schema, state, path);
        }

        var items = new JsonArray();
        var index = 0;
        foreach (var item in (System.Collections.IEnumerable)value)
        {
            items.Add(item is null ? null : CompleteItem(definition, item, field, schema, state, [.. path, index]));
            index++;
        }

        return items;
    }

    private static JsonNode? CompleteItem(
        FieldDefinition definition,
        object value,
        FieldSelection field,
        GraphQLSchema schema,
        ExecutionState state,
        object[] path) =>
        definition.IsScalar
            ? value switch
            {
                JsonNode node => node.DeepClone(),
                string text => JsonValue.Create(text),
                bool flag => JsonValue.Create(flag),
                int number => JsonValue.Create(number),
                long number => JsonValue.Create(number),
                double number => JsonValue.Create(number),
                _ => throw new InvalidOperationException($"Field {definition.Name} resolved to {value.GetType()}, which is not a scalar."),
            }
            : ExecuteSelections(schema.Types[definition.TypeName], value, field.Selections!, schema, state, path);
}

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// Checks an operation against the schema before it runs: known fields and arguments, sub-selections where (and only
/// where) a field returns an object, and variables that are defined.
/// </summary>
internal static class GraphQLValidator
{
    public static List<GraphQLError> Validate(OperationDefinition operation, GraphQLSchema schema)
    {
        var errors = new List<GraphQLError>();
        if (operation.Type == "subscription")
        {
            errors.Add(Error("Subscriptions are not served over HTTP by the Pitchly emulator.", operation.Selections[0].Location));
            return errors;
        }

        var defined = operation.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        var root = schema.Types[operation.Type == "mutation" ? "Mutation" : "Query"];
        ValidateSelections(root, operation.Selections, schema, defined, errors);
        return errors;
    }

    private static void ValidateSelections(
        ObjectTypeDefinition type,
        IReadOnlyList<FieldSelection> selections,
        GraphQLSchema schema,
        HashSet<string> definedVariables,
        List<GraphQLError> errors)
    {
        foreach (var field in selections)
        {
            if (field.Name == "__typename")
            {
                if (field.Selections is not null)
                {
                    errors.Add(Error("Field \"__typename\" must not have a selection since type \"String\" has no subfields.", field.Location));
                }

                continue;
            }

            if (!type.Fields.TryGetValue(field.Name, out var definition))
            {
                errors.Add(Error($"Cannot query field \"{field.Name}\" on type \"{type.Name}\".", field.Location));
                continue;
            }

            foreach (var argument in field.Arguments)
            {
                if (!definition.Arguments.Contains(argument.Name, StringComparer.Ordinal))
                {
                    errors.Add(Error($"Unknown argument \"{argument.Name}\" on field \"{type.Name}.{field.Name}\".", field.Location));
                }

                foreach (var variable in Variables(argument.Value))
                {
                    if (!definedVariables.Contains(variable.Name))
                    {
                        errors.Add(Error($"Variable \"${variable.Name}\" is not defined.", variable.Location));
                    }
                }
            }

            if (definition.IsScalar && field.Selections is not null)
            {
                errors.Add(Error(
                    $"Field \"{field.Name}\" must not have a selection since type \"{definition.DisplayType}\" has no subfields.",
                    field.Location));
            }
            else if (!definition.IsScalar && field.Selections is null)
            {
                errors.Add(Error(
                    $"Field \"{field.Name}\" of type \"{definition.DisplayType}\" must have a selection of subfields. Did you mean \"{field.Name} {{ ... }}\"?",
                    field.Location));
            }
            else if (!definition.IsScalar)
            {
                ValidateSelections(schema.Types[definition.TypeName], field.Selections!, schema, definedVariables, errors);
            }
        }
    }

    private static IEnumerable<VariableNode> Variables(ValueNode value) => value switch
    {
        VariableNode variable => [variable],
        ListNode list => list.Items.SelectMany(Variables),
        ObjectNode obj => obj.Fields.SelectMany(f => Variables(f.Value)),
        _ => [],
    };

    private static GraphQLError Error(string message, SourceLocation location) =>
        new(message, GraphQLErrorCodes.ValidationFailed, location);
}

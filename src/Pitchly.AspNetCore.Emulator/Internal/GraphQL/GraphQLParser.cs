using System.Globalization;
using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// A recursive-descent parser for the executable subset of GraphQL the emulator serves: operations (and the
/// <c>{ … }</c> shorthand) with names, variable definitions and defaults, nested selection sets, aliases and
/// arguments with literal, list, object and variable values. Fragments and directives are refused with a clear message.
/// </summary>
internal sealed class GraphQLParser
{
    private readonly List<SyntaxToken> _tokens;
    private int _position;

    private GraphQLParser(List<SyntaxToken> tokens) => _tokens = tokens;

    private SyntaxToken Current => _tokens[_position];

    public static GraphQLDocument Parse(string source)
    {
        var parser = new GraphQLParser(GraphQLLexer.Tokenize(source));
        var operations = new List<OperationDefinition>();
        do
        {
            operations.Add(parser.ParseDefinition());
        }
        while (parser.Current.Kind != TokenKind.EndOfFile);

        return new GraphQLDocument(operations);
    }

    private OperationDefinition ParseDefinition()
    {
        if (Peek("{"))
        {
            return new OperationDefinition("query", null, [], ParseSelectionSet());
        }

        var token = Current;
        if (token.Kind == TokenKind.Name && token.Text is "query" or "mutation" or "subscription")
        {
            _position++;
            string? name = null;
            if (Current.Kind == TokenKind.Name)
            {
                name = Current.Text;
                _position++;
            }

            var variables = Peek("(") ? ParseVariableDefinitions() : [];
            RefuseDirectives();
            return new OperationDefinition(token.Text, name, variables, ParseSelectionSet());
        }

        if (token.Kind == TokenKind.Name && token.Text == "fragment")
        {
            throw new GraphQLSyntaxException("Fragments are not supported by the Pitchly emulator; inline the fields.", token.Location);
        }

        throw Unexpected(token);
    }

    private List<VariableDefinition> ParseVariableDefinitions()
    {
        Expect("(");
        var definitions = new List<VariableDefinition>();
        do
        {
            Expect("$");
            var name = ExpectName();
            Expect(":");
            var type = ParseType();
            ValueNode? defaultValue = null;
            if (TryConsume("="))
            {
                defaultValue = ParseValue(isConstant: true);
            }

            RefuseDirectives();
            definitions.Add(new VariableDefinition(name, type, defaultValue));
        }
        while (!TryConsume(")"));

        return definitions;
    }

    private string ParseType()
    {
        string type;
        if (TryConsume("["))
        {
            type = "[" + ParseType() + "]";
            Expect("]");
        }
        else
        {
            type = ExpectName();
        }

        return TryConsume("!") ? type + "!" : type;
    }

    private List<FieldSelection> ParseSelectionSet()
    {
        Expect("{");
        var selections = new List<FieldSelection>();
        do
        {
            if (Peek("..."))
            {
                throw new GraphQLSyntaxException("Fragments are not supported by the Pitchly emulator; inline the fields.", Current.Location);
            }

            selections.Add(ParseField());
        }
        while (!TryConsume("}"));

        return selections;
    }

    private FieldSelection ParseField()
    {
        var location = Current.Location;
        string? alias = null;
        var name = ExpectName();
        if (TryConsume(":"))
        {
            alias = name;
            name = ExpectName();
        }

        var arguments = new List<ArgumentNode>();
        if (TryConsume("("))
        {
            do
            {
                var argumentName = ExpectName();
                Expect(":");
                arguments.Add(new ArgumentNode(argumentName, ParseValue(isConstant: false)));
            }
            while (!TryConsume(")"));
        }

        RefuseDirectives();
        var selections = Peek("{") ? ParseSelectionSet() : null;
        return new FieldSelection(alias, name, arguments, selections, location);
    }

    private ValueNode ParseValue(bool isConstant)
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Punctuator when token.Text == "$":
                if (isConstant)
                {
                    throw new GraphQLSyntaxException("Syntax Error: a variable cannot appear in a default value.", token.Location);
                }

                _position++;
                return new VariableNode(ExpectName(), token.Location);
            case TokenKind.Punctuator when token.Text == "[":
                _position++;
                var items = new List<ValueNode>();
                while (!TryConsume("]"))
                {
                    items.Add(ParseValue(isConstant));
                }

                return new ListNode(items);
            case TokenKind.Punctuator when token.Text == "{":
                _position++;
                var fields = new List<KeyValuePair<string, ValueNode>>();
                while (!TryConsume("}"))
                {
                    var name = ExpectName();
                    Expect(":");
                    fields.Add(new(name, ParseValue(isConstant)));
                }

                return new ObjectNode(fields);
            case TokenKind.Int:
                _position++;
                return new ConstantNode(long.TryParse(token.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                    ? JsonValue.Create(integer)
                    : JsonValue.Create(double.Parse(token.Text, CultureInfo.InvariantCulture)));
            case TokenKind.Float:
                _position++;
                return new ConstantNode(JsonValue.Create(double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture)));
            case TokenKind.String:
                _position++;
                return new ConstantNode(JsonValue.Create(token.Text));
            case TokenKind.Name:
                _position++;
                return new ConstantNode(token.Text switch
                {
                    "true" => JsonValue.Create(true),
                    "false" => JsonValue.Create(false),
                    "null" => null,
                    _ => JsonValue.Create(token.Text),
                });
            default:
                throw Unexpected(token);
        }
    }

    private void RefuseDirectives()
    {
        if (Peek("@"))
        {
            throw new GraphQLSyntaxException("Directives are not supported by the Pitchly emulator.", Current.Location);
        }
    }

    private bool Peek(string punctuator) => Current.Kind == TokenKind.Punctuator && Current.Text == punctuator;

    private bool TryConsume(string punctuator)
    {
        if (!Peek(punctuator))
        {
            return false;
        }

        _position++;
        return true;
    }

    private void Expect(string punctuator)
    {
        if (!TryConsume(punctuator))
        {
            throw new GraphQLSyntaxException($"Syntax Error: expected \"{punctuator}\", found {Describe(Current)}.", Current.Location);
        }
    }

    private string ExpectName()
    {
        var token = Current;
        if (token.Kind != TokenKind.Name)
        {
            throw new GraphQLSyntaxException($"Syntax Error: expected a name, found {Describe(token)}.", token.Location);
        }

        _position++;
        return token.Text;
    }

    private static GraphQLSyntaxException Unexpected(SyntaxToken token) =>
        new($"Syntax Error: unexpected {Describe(token)}.", token.Location);

    private static string Describe(SyntaxToken token) => token.Kind switch
    {
        TokenKind.EndOfFile => "<EOF>",
        TokenKind.String => "a string",
        _ => $"\"{token.Text}\"",
    };
}

using System.Globalization;
using System.Text;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

internal enum TokenKind
{
    EndOfFile,
    Punctuator,
    Name,
    Int,
    Float,
    String,
}

internal readonly record struct SyntaxToken(TokenKind Kind, string Text, SourceLocation Location);

/// <summary>Splits GraphQL source text into tokens (GraphQL spec, section 2.1), skipping whitespace, commas and comments.</summary>
internal static class GraphQLLexer
{
    public static List<SyntaxToken> Tokenize(string source)
    {
        var tokens = new List<SyntaxToken>();
        var position = 0;
        var line = 1;
        var lineStart = 0;

        while (position < source.Length)
        {
            var c = source[position];
            var location = new SourceLocation(line, position - lineStart + 1);
            switch (c)
            {
                case ' ' or '\t' or ',' or '\uFEFF':
                    position++;
                    break;
                case '\n' or '\r':
                    position += c == '\r' && position + 1 < source.Length && source[position + 1] == '\n' ? 2 : 1;
                    line++;
                    lineStart = position;
                    break;
                case '#':
                    while (position < source.Length && source[position] is not ('\n' or '\r'))
                    {
                        position++;
                    }

                    break;
                case '!' or '$' or '&' or '(' or ')' or ':' or '=' or '@' or '[' or ']' or '{' or '|' or '}':
                    tokens.Add(new SyntaxToken(TokenKind.Punctuator, c.ToString(), location));
                    position++;
                    break;
                case '.':
                    if (string.CompareOrdinal(source, position, "...", 0, 3) != 0)
                    {
                        throw new GraphQLSyntaxException("Syntax Error: unexpected \".\".", location);
                    }

                    tokens.Add(new SyntaxToken(TokenKind.Punctuator, "...", location));
                    position += 3;
                    break;
                case '"':
                    tokens.Add(ReadString(source, ref position, ref line, ref lineStart, location));
                    break;
                default:
                    if (c == '_' || char.IsAsciiLetter(c))
                    {
                        var start = position;
                        while (position < source.Length && (source[position] == '_' || char.IsAsciiLetterOrDigit(source[position])))
                        {
                            position++;
                        }

                        tokens.Add(new SyntaxToken(TokenKind.Name, source[start..position], location));
                    }
                    else if (c == '-' || char.IsAsciiDigit(c))
                    {
                        tokens.Add(ReadNumber(source, ref position, location));
                    }
                    else
                    {
                        throw new GraphQLSyntaxException($"Syntax Error: unexpected character \"{c}\".", location);
                    }

                    break;
            }
        }

        tokens.Add(new SyntaxToken(TokenKind.EndOfFile, string.Empty, new SourceLocation(line, position - lineStart + 1)));
        return tokens;
    }

    private static SyntaxToken ReadNumber(string source, ref int position, SourceLocation location)
    {
        var start = position;
        var isFloat = false;
        if (source[position] == '-')
        {
            position++;
        }

        if (!Digits(source, ref position))
        {
            throw new GraphQLSyntaxException("Syntax Error: invalid number, expected a digit.", location);
        }

        if (position < source.Length && source[position] == '.')
        {
            isFloat = true;
            position++;
            if (!Digits(source, ref position))
            {
                throw new GraphQLSyntaxException("Syntax Error: invalid number, expected a digit after \".\".", location);
            }
        }

        if (position < source.Length && source[position] is 'e' or 'E')
        {
            isFloat = true;
            position++;
            if (position < source.Length && source[position] is '+' or '-')
            {
                position++;
            }

            if (!Digits(source, ref position))
            {
                throw new GraphQLSyntaxException("Syntax Error: invalid number, expected a digit in the exponent.", location);
            }
        }

        if (position < source.Length && (source[position] == '_' || char.IsAsciiLetter(source[position]) || source[position] == '.'))
        {
            throw new GraphQLSyntaxException("Syntax Error: invalid number.", location);
        }

        return new SyntaxToken(isFloat ? TokenKind.Float : TokenKind.Int, source[start..position], location);

        static bool Digits(string source, ref int position)
        {
            var start = position;
            while (position < source.Length && char.IsAsciiDigit(source[position]))
            {
                position++;
            }

            return position > start;
        }
    }

    private static SyntaxToken ReadString(string source, ref int position, ref int line, ref int lineStart, SourceLocation location)
    {
        if (string.CompareOrdinal(source, position, "\"\"\"", 0, 3) == 0)
        {
            return ReadBlockString(source, ref position, ref line, ref lineStart, location);
        }

        var value = new StringBuilder();
        position++;
        while (position < source.Length)
        {
            var c = source[position];
            if (c == '"')
            {
                position++;
                return new SyntaxToken(TokenKind.String, value.ToString(), location);
            }

            if (c is '\n' or '\r')
            {
                break;
            }

            if (c != '\\')
            {
                value.Append(c);
                position++;
                continue;
            }

            if (position + 1 >= source.Length)
            {
                break;
            }

            var escape = source[position + 1];
            position += 2;
            switch (escape)
            {
                case '"' or '\\' or '/':
                    value.Append(escape);
                    break;
                case 'b':
                    value.Append('\b');
                    break;
                case 'f':
                    value.Append('\f');
                    break;
                case 'n':
                    value.Append('\n');
                    break;
                case 'r':
                    value.Append('\r');
                    break;
                case 't':
                    value.Append('\t');
                    break;
                case 'u' when position + 4 <= source.Length
                    && int.TryParse(source.AsSpan(position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                    value.Append((char)code);
                    position += 4;
                    break;
                default:
                    throw new GraphQLSyntaxException($"Syntax Error: invalid escape sequence \"\\{escape}\".", location);
            }
        }

        throw new GraphQLSyntaxException("Syntax Error: unterminated string.", location);
    }

    // Block strings keep their raw text; the emulator does not strip common indentation, which no argument here needs.
    private static SyntaxToken ReadBlockString(string source, ref int position, ref int line, ref int lineStart, SourceLocation location)
    {
        var value = new StringBuilder();
        position += 3;
        while (position < source.Length)
        {
            if (string.CompareOrdinal(source, position, "\"\"\"", 0, 3) == 0)
            {
                position += 3;
                return new SyntaxToken(TokenKind.String, value.ToString(), location);
            }

            if (string.CompareOrdinal(source, position, "\\\"\"\"", 0, 4) == 0)
            {
                value.Append("\"\"\"");
                position += 4;
                continue;
            }

            if (source[position] == '\n')
            {
                line++;
                lineStart = position + 1;
            }

            value.Append(source[position]);
            position++;
        }

        throw new GraphQLSyntaxException("Syntax Error: unterminated block string.", location);
    }
}

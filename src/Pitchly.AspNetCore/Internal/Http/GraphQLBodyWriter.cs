using System.Text.Json;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Sets one variable of a GraphQL JSON body. The body is scanned with <see cref="Utf8JsonReader"/> and the variable
/// spliced in at the right byte offset, so every other byte (escapes, number spellings, member order, whitespace,
/// operationName, extensions) stays exactly as the caller wrote it; no DOM and no re-serialisation.
/// </summary>
internal static class GraphQLBodyWriter
{
    /// <summary>
    /// Finds how to set <c>variables.{name}</c> of <paramref name="body"/> to <paramref name="value"/> (replacing a
    /// value already there, creating <c>variables</c> if absent or null), or returns <see langword="null"/> when the body
    /// is not a single JSON object with an object or null <c>variables</c>, in which case it must be sent unchanged.
    /// The body itself is not copied: <see cref="SplicedContent"/> sends it around the returned splice.
    /// </summary>
    /// <exception cref="PitchlyException">The body has <c>variables</c> more than once at its root, or
    /// <c>variables.{name}</c> more than once: it is refused rather than normalised, since the server's parser decides
    /// which duplicate counts. Duplicates anywhere else are the server's to judge and are kept byte for byte.</exception>
    public static Splice? TrySetVariable(ReadOnlySpan<byte> body, VariableName name, string value)
    {
        var encodedName = name.Encoded.EncodedUtf8Bytes;
        var encodedValue = JsonEncodedText.Encode(value).EncodedUtf8Bytes;
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            Splice? splice = null;
            var rootHasMembers = false;
            var seenVariables = false;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                {
                    splice ??= rootHasMembers
                        ? new Splice((int)reader.TokenStartIndex, 0, Member(",\"variables\":{"u8, encodedName, encodedValue, "}"u8))
                        : new Splice((int)reader.TokenStartIndex, 0, Member("\"variables\":{"u8, encodedName, encodedValue, "}"u8));
                    continue;
                }

                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                rootHasMembers = true;
                var isVariables = reader.ValueTextEquals("variables"u8);
                reader.Read();
                if (!isVariables)
                {
                    reader.Skip();
                    continue;
                }

                if (seenVariables)
                {
                    throw Duplicate("variables");
                }

                seenVariables = true;

                if (reader.TokenType == JsonTokenType.Null)
                {
                    splice = new Splice((int)reader.TokenStartIndex, 4, Member("{"u8, encodedName, encodedValue, "}"u8));
                }
                else if (reader.TokenType == JsonTokenType.StartObject)
                {
                    splice = FindInVariables(ref reader, encodedName, encodedValue, name.Name);
                }
                else
                {
                    return null;
                }
            }

            // The reader has validated the whole document by now (it throws on malformed or trailing content).
            return splice;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Splice FindInVariables(ref Utf8JsonReader reader, ReadOnlySpan<byte> encodedName, ReadOnlySpan<byte> encodedValue, string name)
    {
        var afterBrace = (int)reader.TokenStartIndex + 1;
        var isEmpty = true;
        Splice? found = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            isEmpty = false;
            var isTarget = reader.ValueTextEquals(name);
            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            reader.Skip();
            if (!isTarget)
            {
                continue;
            }

            if (found is not null)
            {
                throw Duplicate($"variables.{name}");
            }

            var valueEnd = (int)reader.BytesConsumed;
            var replacement = new byte[encodedValue.Length + 2];
            replacement[0] = (byte)'"';
            encodedValue.CopyTo(replacement.AsSpan(1));
            replacement[^1] = (byte)'"';
            found = new Splice(valueStart, valueEnd - valueStart, replacement);
        }

        return found ?? new Splice(afterBrace, 0, Member(""u8, encodedName, encodedValue, isEmpty ? ""u8 : ","u8));
    }

    // JSON parsers disagree on duplicate members (first wins, last wins, error), so a token written into one of them
    // may be read from neither by the server, and the other may be the caller's own value: refuse rather than guess.
    private static PitchlyException Duplicate(string member) =>
        new($"The request to Pitchly was not sent: its GraphQL JSON body has the member '{member}' more than once, where the token must be written. JSON parsers differ on which duplicate they read, so the server might not read the token written. Send each member once.");

    private static byte[] Member(ReadOnlySpan<byte> before, ReadOnlySpan<byte> encodedName, ReadOnlySpan<byte> encodedValue, ReadOnlySpan<byte> after)
    {
        var result = new byte[before.Length + encodedName.Length + encodedValue.Length + 5 + after.Length];
        var span = result.AsSpan();
        before.CopyTo(span);
        span = span[before.Length..];
        span[0] = (byte)'"';
        encodedName.CopyTo(span[1..]);
        span = span[(encodedName.Length + 1)..];
        "\":\""u8.CopyTo(span);
        encodedValue.CopyTo(span[3..]);
        span = span[(encodedValue.Length + 3)..];
        span[0] = (byte)'"';
        after.CopyTo(span[1..]);
        return result;
    }

    /// <summary>A variable name, JSON-encoded once rather than on every request.</summary>
    public sealed class VariableName(string name)
    {
        public string Name { get; } = name;

        public JsonEncodedText Encoded { get; } = JsonEncodedText.Encode(name);
    }

    /// <summary>The change to make to a body: <see cref="RemovedLength"/> bytes at <see cref="Offset"/> replaced by <see cref="Inserted"/>.</summary>
    public readonly record struct Splice(int Offset, int RemovedLength, byte[] Inserted);
}

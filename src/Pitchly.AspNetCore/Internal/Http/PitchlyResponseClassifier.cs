using System.Text.Json;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>Reads just enough of a GraphQL response to tell whether Pitchly rejected the access token.</summary>
internal static class PitchlyResponseClassifier
{
    public enum FirstMember
    {
        /// <summary>More bytes are needed to decide.</summary>
        Incomplete,

        /// <summary><c>data</c> comes first and is an object: the request was authenticated; stream the rest.</summary>
        DataObject,

        /// <summary><c>data: null</c>, <c>errors</c> first, or another member first: read the whole body.</summary>
        NeedsInspection,

        /// <summary>Not a JSON object: cannot be a GraphQL token error.</summary>
        NotGraphQL,
    }

    /// <summary>Classifies a response by its first member; Pitchly answers <c>data: null</c> on token errors.</summary>
    public static FirstMember PeekFirstMember(ReadOnlySpan<byte> start, bool isFinalBlock)
    {
        // The answer to nearly every call, {"data":{ (JSON white space allowed between the tokens), is recognised from
        // its bytes; anything else (escapes, a BOM, too few bytes, another member) is left to the JSON reader below.
        if (StartsWithDataObject(start))
        {
            return FirstMember.DataObject;
        }

        return ReadFirstMember(start, isFinalBlock);
    }

    /// <summary>What <see cref="PeekFirstMember"/> decides, from the JSON reader alone.</summary>
    internal static FirstMember ReadFirstMember(ReadOnlySpan<byte> start, bool isFinalBlock)
    {
        var reader = new Utf8JsonReader(start, isFinalBlock, default);
        try
        {
            if (!reader.Read())
            {
                return isFinalBlock ? FirstMember.NotGraphQL : FirstMember.Incomplete;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return FirstMember.NotGraphQL;
            }

            if (!reader.Read())
            {
                return FirstMember.Incomplete;
            }

            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                return FirstMember.NotGraphQL;
            }

            if (!reader.ValueTextEquals("data"u8))
            {
                return FirstMember.NeedsInspection;
            }

            if (!reader.Read())
            {
                return FirstMember.Incomplete;
            }

            return reader.TokenType == JsonTokenType.StartObject ? FirstMember.DataObject : FirstMember.NeedsInspection;
        }
        catch (JsonException)
        {
            return FirstMember.NotGraphQL;
        }
    }

    // {"data":{ with optional JSON white space between its tokens, exactly what the reader would read as StartObject,
    // PropertyName "data" (unescaped), StartObject.
    private static bool StartsWithDataObject(ReadOnlySpan<byte> start)
    {
        var at = SkipWhiteSpace(start, 0);
        if (at >= start.Length || start[at] != (byte)'{')
        {
            return false;
        }

        at = SkipWhiteSpace(start, at + 1);
        if (!start[at..].StartsWith("\"data\""u8))
        {
            return false;
        }

        at = SkipWhiteSpace(start, at + 6);
        if (at >= start.Length || start[at] != (byte)':')
        {
            return false;
        }

        at = SkipWhiteSpace(start, at + 1);
        return at < start.Length && start[at] == (byte)'{';
    }

    private static int SkipWhiteSpace(ReadOnlySpan<byte> bytes, int at)
    {
        while (at < bytes.Length && bytes[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            at++;
        }

        return at;
    }

    /// <summary>
    /// True when a complete GraphQL response carries one of <paramref name="codes"/> in
    /// <c>errors[].extensions.code</c> or the legacy <c>errors[].data.error</c>.
    /// </summary>
    public static bool HasInvalidTokenError(ReadOnlySpan<byte> body, ISet<string> codes)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isErrors = reader.ValueTextEquals("errors"u8);
                reader.Read();
                if (isErrors && reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType == JsonTokenType.StartObject ? ErrorHasCode(ref reader, codes) : SkipValue(ref reader))
                        {
                            return true;
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Reads one error object; true when its extensions.code or data.error is one of the codes.
    private static bool ErrorHasCode(ref Utf8JsonReader reader, ISet<string> codes)
    {
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var inExtensions = reader.ValueTextEquals("extensions"u8);
            var inData = !inExtensions && reader.ValueTextEquals("data"u8);
            reader.Read();
            if (!(inExtensions || inData) || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            var member = inExtensions ? "code"u8 : "error"u8;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isCode = reader.ValueTextEquals(member);
                reader.Read();
                if (isCode && reader.TokenType == JsonTokenType.String && IsOneOf(ref reader, codes))
                {
                    found = true;
                }

                reader.Skip();
            }
        }

        return found;
    }

    // Looks the code up without allocating a string when the set allows it (the options' set is an ordinal HashSet);
    // a UTF-8 value never has more chars than bytes, so it fits.
    private static bool IsOneOf(ref Utf8JsonReader reader, ISet<string> codes)
    {
        const int MaxStackChars = 256;
        if (codes is HashSet<string> set
            && set.TryGetAlternateLookup<ReadOnlySpan<char>>(out var lookup)
            && reader.ValueSpan.Length <= MaxStackChars)
        {
            Span<char> chars = stackalloc char[MaxStackChars];
            return lookup.Contains(chars[..reader.CopyString(chars)]);
        }

        return codes.Contains(reader.GetString()!);
    }

    private static bool SkipValue(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return false;
    }
}

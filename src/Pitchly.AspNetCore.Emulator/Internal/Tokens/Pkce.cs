using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>RFC 7636 checks.</summary>
internal static class Pkce
{
    public const string S256 = "S256";
    public const string Plain = "plain";

    /// <summary>43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~", for both challenge and verifier.</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is >= 43 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    public static bool Verify(string verifier, string challenge, string method)
    {
        var expected = method == S256
            ? Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))
            : verifier;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(challenge));
    }
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pitchly.AspNetCore.Emulator.Internal.Tokens;

/// <summary>
/// Validates the HS256 JWTs an app signs itself: <c>iss</c> is the client id, the key is the client secret's UTF-8
/// bytes, <c>exp</c> is optional; an optional <c>scope</c> claim narrows the token.
/// </summary>
internal static class SelfSignedJwt
{
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    public static bool TryValidate(
        string token,
        IEnumerable<PitchlyEmulatorClient> clients,
        DateTimeOffset now,
        out PitchlyEmulatorClient? client,
        out string? scope,
        out string failure)
    {
        client = null;
        scope = null;
        var parts = token.Split('.');
        if (parts.Length != 3 || !TryDecodeJson(parts[0], out var header) || !TryDecodeJson(parts[1], out var payload))
        {
            failure = "The bearer token is not a well-formed JWT.";
            return false;
        }

        using (header)
        using (payload)
        {
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256")
            {
                failure = "The JWT must be signed with HS256.";
                return false;
            }

            if (!payload.RootElement.TryGetProperty("iss", out var iss) || iss.ValueKind != JsonValueKind.String)
            {
                failure = "The JWT has no iss claim; it must be the app's client id.";
                return false;
            }

            var issuer = iss.GetString();
            client = clients.FirstOrDefault(c => string.Equals(c.ClientId, issuer, StringComparison.Ordinal));
            if (client is null)
            {
                failure = "The JWT's iss claim names no registered app.";
                return false;
            }

            var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(client.ClientSecret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
            if (!TryDecode(parts[2], out var presented) || !CryptographicOperations.FixedTimeEquals(signature, presented))
            {
                client = null;
                failure = "The JWT's signature does not verify with the app's client secret.";
                return false;
            }

            if (payload.RootElement.TryGetProperty("exp", out var exp))
            {
                if (exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expiresAt))
                {
                    client = null;
                    failure = "The JWT's exp claim must be a number of seconds since 1970.";
                    return false;
                }

                if (now >= DateTimeOffset.FromUnixTimeSeconds(expiresAt))
                {
                    client = null;
                    failure = "The JWT has expired.";
                    return false;
                }
            }

            if (payload.RootElement.TryGetProperty("scope", out var scopeClaim) && scopeClaim.ValueKind == JsonValueKind.String)
            {
                scope = scopeClaim.GetString();
            }
        }

        failure = string.Empty;
        return true;
    }

    private static bool TryDecodeJson(string segment, out JsonDocument document)
    {
        document = null!;
        if (!TryDecode(segment, out var bytes))
        {
            return false;
        }

        try
        {
            document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return true;
            }

            document.Dispose();
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryDecode(string segment, out byte[] bytes)
    {
        try
        {
            bytes = Base64Url.DecodeFromChars(segment);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}

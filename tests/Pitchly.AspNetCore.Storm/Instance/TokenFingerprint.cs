using System.Security.Cryptography;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>A short, one-way fingerprint of an access token, to count token generations without handling the token.</summary>
internal static class TokenFingerprint
{
    public static string Of(string accessToken) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(accessToken)), 0, 8);
}

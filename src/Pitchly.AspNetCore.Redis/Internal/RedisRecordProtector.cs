using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The Data Protection envelope of a record in Redis (field <c>d</c>): the <see cref="StoredTokenPayload"/> as JSON,
/// encrypted with a purpose bound to the key, so a record copied under another key does not decrypt.
/// </summary>
internal sealed class RedisRecordProtector(IDataProtectionProvider dataProtectionProvider)
{
    private const string ProtectorPurpose = "Pitchly.AspNetCore.TokenStore";

    private readonly IDataProtector _protector = dataProtectionProvider.CreateProtector(ProtectorPurpose);

    public byte[] Protect(PitchlyTokenKey key, PitchlyTokenRecord record)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(StoredTokenPayload.From(record), RedisStoreJsonContext.Default.StoredTokenPayload);
        return _protector.CreateProtector(key.Value).Protect(json);
    }

    /// <summary>
    /// Decrypts the record of <paramref name="key"/>; <see langword="null"/> when it cannot be read, with the reason in
    /// <paramref name="failure"/>. What to do with such a record is the store's decision.
    /// </summary>
    public StoredTokenPayload? TryUnprotect(PitchlyTokenKey key, byte[] data, out Exception? failure)
    {
        try
        {
            var json = _protector.CreateProtector(key.Value).Unprotect(data);
            failure = null;
            return JsonSerializer.Deserialize(json, RedisStoreJsonContext.Default.StoredTokenPayload)
                ?? throw new JsonException("The stored record is empty.");
        }
        catch (Exception exception) when (exception is CryptographicException or JsonException)
        {
            failure = exception;
            return null;
        }
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The Data Protection envelope of a record in Redis (field <c>d</c>): the <see cref="StoredTokenPayload"/> as JSON,
/// encrypted with a purpose bound to the key, so a record copied under another key does not decrypt.
/// </summary>
internal sealed class RedisRecordProtector(IDataProtectionProvider dataProtectionProvider, ILogger logger)
{
    private const string ProtectorPurpose = "Pitchly.AspNetCore.TokenStore";

    private readonly IDataProtector _protector = dataProtectionProvider.CreateProtector(ProtectorPurpose);

    public byte[] Protect(PitchlyTokenKey key, PitchlyTokenRecord record)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(StoredTokenPayload.From(record), RedisStoreJsonContext.Default.StoredTokenPayload);
        return _protector.CreateProtector(key.Value).Protect(json);
    }

    /// <summary>Decrypts the record of <paramref name="key"/>; <see langword="null"/> (logged) when it cannot be read.</summary>
    public StoredTokenPayload? TryUnprotect(PitchlyTokenKey key, string hash, long version, byte[] data)
    {
        try
        {
            var json = _protector.CreateProtector(key.Value).Unprotect(data);
            return JsonSerializer.Deserialize(json, RedisStoreJsonContext.Default.StoredTokenPayload)
                ?? throw new JsonException("The stored record is empty.");
        }
        catch (Exception exception) when (exception is CryptographicException or JsonException)
        {
            RedisLog.RecordUndecryptable(logger, hash, version, exception);
            return null;
        }
    }
}

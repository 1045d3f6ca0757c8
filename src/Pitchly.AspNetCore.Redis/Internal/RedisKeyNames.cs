using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Names of the keys and channels in Redis. Token keys appear only hashed (base64url of SHA-256 of
/// <see cref="PitchlyTokenKey.Value"/>), so no organization, person or database id is readable in Redis or in logs.
/// </summary>
internal sealed class RedisKeyNames
{
    /// <summary>Length of a hashed key: 32 bytes in unpadded base64url.</summary>
    public const int HashLength = 43;

    private const int StackallocLimit = 256;
    private readonly string _prefix;

    public RedisKeyNames(string prefix)
    {
        _prefix = prefix;
        VersionCounter = new RedisKey($"{prefix}:ver");
        ChangedChannelName = $"{prefix}:changed";
        ReleasedChannelName = $"{prefix}:released";
        Changed = RedisChannel.Literal(ChangedChannelName);
        Released = RedisChannel.Literal(ReleasedChannelName);
    }

    /// <summary>Gets the counter every record version comes from, so versions never repeat for a key.</summary>
    public RedisKey VersionCounter { get; }

    public string ChangedChannelName { get; }

    public string ReleasedChannelName { get; }

    /// <summary>Gets the channel announcing <c>{hash}:{version}</c> after every write or removal.</summary>
    public RedisChannel Changed { get; }

    /// <summary>Gets the channel announcing <c>{hash}</c> when a refresh lock is released.</summary>
    public RedisChannel Released { get; }

    public RedisKey Record(string hash) => new($"{_prefix}:tok:{hash}");

    public RedisKey Lock(string hash) => new($"{_prefix}:lock:{hash}");

    public static string Hash(PitchlyTokenKey key)
    {
        Span<char> hash = stackalloc char[HashLength];
        WriteHash(key, hash);
        return new string(hash);
    }

    /// <summary>Writes the hash of <paramref name="key"/> with no intermediate allocation (the key is hashed once per cached entry).</summary>
    private static void WriteHash(PitchlyTokenKey key, Span<char> destination)
    {
        var value = key.Value;
        var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var utf8 = maxBytes <= StackallocLimit
            ? stackalloc byte[StackallocLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = Encoding.UTF8.GetBytes(value, utf8);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8[..length], digest);
            Base64Url.EncodeToChars(digest, destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}

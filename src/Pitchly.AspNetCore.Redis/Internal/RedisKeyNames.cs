using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// Names of the keys and channels in Redis. Token keys appear only hashed (base64url of SHA-256 of
/// <see cref="PitchlyTokenKey.Value"/>), so no organization, person or database id is readable in Redis or in logs.
/// </summary>
/// <remarks>
/// Every key and the channel of one record carry the hash tag of its bucket (<c>{XX}</c>, the first byte of the
/// digest in hexadecimal), so in a Redis Cluster they live in one hash slot and each script touches a single slot.
/// The prefix comes first so that ACL patterns such as <c>~pitchly:*</c> and <c>&amp;pitchly:*</c> keep matching; it
/// must not contain braces, which would make a hash tag of their own.
/// </remarks>
internal sealed class RedisKeyNames
{
    /// <summary>Length of a hashed key: 32 bytes in unpadded base64url.</summary>
    public const int HashLength = 43;

    /// <summary>The number of buckets (hash tags) the records are spread over.</summary>
    public const int BucketCount = 256;

    private const int StackallocLimit = 256;
    private readonly string[] _bucketPrefixes = new string[BucketCount];

    public RedisKeyNames(string prefix)
    {
        var channels = new string[BucketCount];
        for (var bucket = 0; bucket < BucketCount; bucket++)
        {
            _bucketPrefixes[bucket] = string.Create(CultureInfo.InvariantCulture, $"{prefix}:{{{bucket:x2}}}:");
            channels[bucket] = _bucketPrefixes[bucket] + "events";
        }

        ChannelNames = channels;
        DataProtectionCanary = new RedisKey(prefix + ":dp-canary");
    }

    /// <summary>
    /// Gets the key of the Data Protection key check: a value the first instance protected, which every instance sharing
    /// the store must be able to unprotect (<see cref="Internal.DataProtectionCanary"/>).
    /// </summary>
    public RedisKey DataProtectionCanary { get; }

    /// <summary>
    /// Gets the announcement channel of each bucket, by bucket: <c>{hash}:{version}</c> after every write or removal of
    /// one of its records, <c>{hash}</c> when one of its refresh locks is released.
    /// </summary>
    public IReadOnlyList<string> ChannelNames { get; }

    /// <summary>Gets the name of the channel announcing the changes of the record hashed <paramref name="hash"/>.</summary>
    public RedisValue ChannelName(string hash) => ChannelNames[Bucket(hash)];

    public RedisKey Record(string hash) => new(_bucketPrefixes[Bucket(hash)] + "tok:" + hash);

    public RedisKey Lock(string hash) => new(_bucketPrefixes[Bucket(hash)] + "lock:" + hash);

    /// <summary>Gets the mark that a waiter for the lock of <paramref name="hash"/> is listening for its release.</summary>
    public RedisKey LockWaiters(string hash) => new(_bucketPrefixes[Bucket(hash)] + "lockw:" + hash);

    /// <summary>
    /// Gets the marker a replica wait on a connection of its own writes to, in the bucket (and so the cluster slot) of the
    /// record hashed <paramref name="hash"/>: one short-lived key per bucket, holding no token.
    /// </summary>
    public RedisKey AcknowledgementMarker(string hash) => new(_bucketPrefixes[Bucket(hash)] + "ack");

    /// <summary>
    /// Gets the bucket of a hashed key: the first byte of its SHA-256 digest, which is the first base64url character's
    /// six bits followed by the top two bits of the second.
    /// </summary>
    public static int Bucket(string hash) => (Sextet(hash[0]) << 2) | (Sextet(hash[1]) >> 4);

    private static int Sextet(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        '_' => 63,
        _ => throw new ArgumentException($"'{c}' is not a base64url character of a hashed key.", nameof(c)),
    };

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

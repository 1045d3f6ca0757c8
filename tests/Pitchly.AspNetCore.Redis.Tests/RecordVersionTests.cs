using System.Security.Cryptography;
using System.Text;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>Versions without a shared counter: per record, from the server's clock, kept above a removal's tombstone.</summary>
public sealed class RecordVersionTests(RedisServer redis) : RedisTestScope('v'), IClassFixture<RedisServer>
{

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-v", "person-v");

    [Fact]
    public async Task A_version_is_the_servers_clock_in_microseconds_and_no_key_is_shared_by_every_record()
    {
        var store = App().Store;
        var time = await redis.AdminServer.TimeAsync();

        var written = await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        var serverMicroseconds = new DateTimeOffset(time).ToUnixTimeMilliseconds() * 1000;
        Assert.InRange(written.Version, serverMicroseconds - 2_000_000, serverMicroseconds + 60_000_000);
        var keys = redis.AdminServer.Keys(pattern: $"{Prefix}:*").Select(key => key.ToString()).ToList();
        Assert.Equal([Names().Record(RedisKeyNames.Hash(User)).ToString()], keys);
    }

    [Fact]
    public async Task A_removal_leaves_a_tombstone_read_as_absent_and_a_record_created_again_continues_above_it()
    {
        var store = App().Store;
        var other = App().Store;
        var written = await store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);
        Assert.True(await store.RemoveAsync(User, written.Version, Cancel));
        var record = Names().Record(RedisKeyNames.Hash(User));
        var database = redis.Admin.GetDatabase();

        // The tombstone: only the version, with the record's time to live.
        Assert.Equal(["v"], (await database.HashGetAllAsync(record)).Select(field => field.Name.ToString()));
        Assert.InRange((await database.KeyTimeToLiveAsync(record))!.Value, TimeSpan.FromDays(29), TimeSpan.FromDays(30));
        Assert.Null(await other.GetAsync(User, Cancel));
        Assert.False(await other.RemoveAsync(User, cancellationToken: Cancel));
        var tombstone = (long)await database.HashGetAsync(record, "v");
        Assert.Null(await other.TryReplaceAsync(User, tombstone, Records.Create("access-x", "refresh-x"), Cancel));
        Assert.Null(await other.TryBeginRefreshAsync(User, tombstone, "owner", TimeSpan.FromSeconds(5), Cancel));

        // As if the server's clock had stepped back far: the tombstone is ahead of it, and the next version still rises.
        const long Ahead = 9_007_199_254_740_000;
        await database.HashSetAsync(record, "v", Ahead);
        var created = await other.TryReplaceAsync(User, 0, Records.Create("access-2", "refresh-2"), Cancel);
        Assert.Equal(Ahead + 1, created!.Version);
        var replaced = await store.TryReplaceAsync(User, created.Version, Records.Create("access-3", "refresh-3"), Cancel);
        Assert.Equal(Ahead + 2, replaced!.Version);
        var fenced = await store.TryBeginRefreshAsync(User, replaced.Version, "owner", TimeSpan.FromSeconds(5), Cancel);
        Assert.Equal(Ahead + 3, fenced!.Version);
        Assert.Equal(Ahead + 3, (await other.GetAsync(User, Cancel))!.Version);
        Assert.Equal("9007199254740003", (string?)await database.HashGetAsync(record, "v"));
        Assert.True(await other.RemoveAsync(User, fenced.Version, Cancel));
        Assert.Equal("9007199254740004", (string?)await database.HashGetAsync(record, "v"));
        Assert.Equal(Ahead + 5, (await store.SetAsync(User, Records.Create("access-4", "refresh-4"), Cancel)).Version);
    }

    [Fact]
    public async Task Only_if_absent_writes_over_a_tombstone_but_not_over_a_record()
    {
        var store = App().Store;
        var first = await store.TryReplaceAsync(User, 0, Records.Create("access-1", "refresh-1"), Cancel);
        Assert.NotNull(first);
        Assert.Null(await store.TryReplaceAsync(User, 0, Records.Create("access-2", "refresh-2"), Cancel));

        Assert.True(await store.RemoveAsync(User, cancellationToken: Cancel));
        var again = await store.TryReplaceAsync(User, 0, Records.Create("access-3", "refresh-3"), Cancel);

        Assert.True(again!.Version > first.Version);
        Assert.Equal("access-3", (await App().Store.GetAsync(User, Cancel))!.AccessToken);
    }

    [Fact]
    public void A_records_bucket_is_the_first_byte_of_its_digest_and_names_its_keys_and_channel()
    {
        var names = Names();
        var buckets = new HashSet<int>();
        for (var i = 0; i < 2000; i++)
        {
            var key = PitchlyTokenKey.ForUser("org-b", $"person-{i}");
            var hash = RedisKeyNames.Hash(key);
            var bucket = RedisKeyNames.Bucket(hash);
            Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(key.Value))[0], bucket);
            var tag = $"{{{bucket:x2}}}";
            Assert.Equal($"{Prefix}:{tag}:tok:{hash}", names.Record(hash).ToString());
            Assert.Equal($"{Prefix}:{tag}:lock:{hash}", names.Lock(hash).ToString());
            Assert.Equal($"{Prefix}:{tag}:events", names.ChannelName(hash).ToString());
            buckets.Add(bucket);
        }

        Assert.Equal(RedisKeyNames.BucketCount, buckets.Count);
        Assert.Equal(RedisKeyNames.BucketCount, names.ChannelNames.Distinct().Count());
    }

    private RedisKeyNames Names() => new(Prefix);

    private TestApp App() =>
        Own(TestApp.Create(redis, Prefix, KeyRing));
}

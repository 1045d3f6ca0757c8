using System.Globalization;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// How many announcements every instance receives per refresh, counted on the record's bucket channel, to which every
/// instance subscribes: N real instances on one real redis-server, refreshing against the emulator.
/// </summary>
public sealed class AnnouncementCountTests(RedisServer redis) : RedisTestScope('m'), IClassFixture<RedisServer>
{
    private const int Rounds = 20;

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public async Task A_renewal_announces_one_message_to_each_instance(int instanceCount)
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(emulator, emulator.Emulator.Users.First().PersonId);
        var instances = Instances(emulator, key, instanceCount);
        await instances[0].Store.SetAsync(key, record, Cancel);
        await using var counter = await ChannelMessageCounter.StartAsync(redis, Prefix, key);
        foreach (var instance in instances)
        {
            await instance.Manager.GetAccessTokenAsync(key, Cancel); // connected and subscribed
        }

        var lockKey = new RedisKeyNames(Prefix).Lock(RedisKeyNames.Hash(key));
        var grantsBefore = emulator.Emulator.GetStats().RefreshGrants;
        var messagesBefore = counter.Received;
        var current = (await instances[0].Store.GetAsync(key, Cancel))!.AccessToken;
        for (var round = 0; round < Rounds; round++)
        {
            // One instance renews; the others are running and listening. The next renewal starts once this one has
            // released the lock (which happens just after its callers have their token): overlapping renewals are the
            // other test's case.
            current = (await instances[round % instanceCount].Manager.RefreshAsync(key, current, Cancel)).Value;
            await Eventually.HoldsAsync(async () => !await redis.Admin.GetDatabase().KeyExistsAsync(lockKey), TimeSpan.FromSeconds(10), "the lock is released");
        }

        var grants = emulator.Emulator.GetStats().RefreshGrants - grantsBefore;
        var perRefresh = await counter.SettledPerAsync(messagesBefore, grants);
        Report($"renewal, {instanceCount} instances: {perRefresh.ToString("F2", CultureInfo.InvariantCulture)} messages per refresh per instance ({grants} refreshes)");
        Assert.Equal(Rounds, grants);
        Assert.True(perRefresh <= 1, $"{perRefresh:F2} messages per refresh reached every instance.");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public async Task A_token_rejected_on_every_instance_at_once_announces_one_message_to_each_instance(int instanceCount)
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(emulator, emulator.Emulator.Users.First().PersonId);
        var instances = Instances(emulator, key, instanceCount);
        await instances[0].Store.SetAsync(key, record, Cancel);
        await using var counter = await ChannelMessageCounter.StartAsync(redis, Prefix, key);
        foreach (var instance in instances)
        {
            await instance.Manager.GetAccessTokenAsync(key, Cancel);
        }

        var lockKey = new RedisKeyNames(Prefix).Lock(RedisKeyNames.Hash(key));
        var grantsBefore = emulator.Emulator.GetStats().RefreshGrants;
        var messagesBefore = counter.Received;
        var current = (await instances[0].Store.GetAsync(key, Cancel))!.AccessToken;
        for (var round = 0; round < Rounds; round++)
        {
            // Every instance reports the same token rejected: one refreshes, the others wait for the lock and take its tokens
            // as soon as they are written.
            var rejected = current;
            var tokens = await Task.WhenAll(instances.Select(instance => Task.Run(async () => (await instance.Manager.RefreshAsync(key, rejected, Cancel)).Value, Cancel)));
            Assert.Single(tokens.Distinct());
            current = tokens[0];
            await Eventually.HoldsAsync(async () => !await redis.Admin.GetDatabase().KeyExistsAsync(lockKey), TimeSpan.FromSeconds(10), "the lock is released");
        }

        var grants = emulator.Emulator.GetStats().RefreshGrants - grantsBefore;
        var perRefresh = await counter.SettledPerAsync(messagesBefore, grants);
        Report($"rejected on all, {instanceCount} instances: {perRefresh.ToString("F2", CultureInfo.InvariantCulture)} messages per refresh per instance ({grants} refreshes)");
        Assert.Equal(Rounds, grants);

        // The write only: it wakes the instances waiting for the lock, which take its tokens without the lock, so the
        // release is announced to no one (and there is no hand-over, no intent announcement).
        Assert.True(perRefresh <= 1, $"{perRefresh:F2} messages per refresh reached every instance.");
    }

    private List<EmulatedInstance> Instances(PitchlyEmulatorServer emulator, PitchlyTokenKey key, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Own(EmulatedInstance.Create(redis, emulator, Prefix, KeyRing, key, o => o.LockPollInterval = TimeSpan.FromSeconds(5))))];

    private static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable("PITCHLY_ANNOUNCEMENT_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllText(path, line + Environment.NewLine);
        }
    }
}

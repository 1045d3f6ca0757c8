using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A replication state that cannot be known counts as unacknowledged, not as "no replicas": with <c>INFO</c> refused by
/// an ACL, or a primary just promoted from a replica, writes of tokens fail retryably under the default policy and the
/// health check says Degraded, until a replica streams or the deployment says it has none (<c>AssumeNoReplicas</c>).
/// Each server here is a real <c>redis-server</c>; the standalone one never had a replica.
/// </summary>
public sealed class UnknownReplicationStateTests(RedisServer redis) : RedisTestScope('u'), IClassFixture<RedisServer>
{
    private const int ReplicationStateUnknownEventId = 3045;

    [Fact]
    public async Task A_primary_that_never_had_a_replica_needs_no_acknowledgement_and_is_healthy()
    {
        var logs = new CapturedLogs();
        var app = Own(TestApp.Create(redis, Prefix, KeyRing, logs: logs));

        var written = await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel);

        Assert.True(written.Version > 0);
        Assert.Equal(HealthStatus.Healthy, (await app.CheckHealthAsync()).Status);
        Assert.DoesNotContain(logs.Entries, entry => entry.EventId == ReplicationStateUnknownEventId);
    }

    [Fact]
    public async Task With_INFO_refused_by_an_ACL_writes_fail_retryably_and_health_is_Degraded_unless_the_deployment_assumes_no_replicas()
    {
        var user = "noinfo-" + Prefix;
        await redis.AdminServer.ExecuteAsync("ACL", "SETUSER", user, "on", ">secret-pw", "~*", "&*", "+@all", "-info");
        try
        {
            var configuration = $"{redis.Configuration},user={user},password=secret-pw";
            var logs = new CapturedLogs();
            var app = Own(TestApp.Create(configuration, Prefix, KeyRing, logs: logs));

            var failure = await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(
                async () => await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel));
            Assert.Contains("acknowledged", failure.Message, StringComparison.Ordinal);
            var unknown = Assert.Single(logs.Entries, entry => entry.EventId == ReplicationStateUnknownEventId);
            Assert.Contains("AssumeNoReplicas", unknown.Message, StringComparison.Ordinal);
            var health = await app.CheckHealthAsync();
            Assert.Equal(HealthStatus.Degraded, health.Status);
            Assert.Contains("AssumeNoReplicas", health.Entries["pitchly-redis"].Description, StringComparison.Ordinal);

            // The deployment says it has no replicas: the same refusal no longer holds writes back.
            var assuming = Own(TestApp.Create(configuration, Prefix, KeyRing, o => o.AssumeNoReplicas = true));
            var written = await assuming.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
            Assert.Equal("access-2", (await assuming.Store.GetAsync(User, Cancel))?.AccessToken);
            Assert.True(written.Version > 0);
            Assert.Equal(HealthStatus.Healthy, (await assuming.CheckHealthAsync()).Status);
        }
        finally
        {
            await redis.AdminServer.ExecuteAsync("ACL", "DELUSER", user);
        }
    }

    [Fact]
    public async Task A_primary_just_promoted_from_a_replica_holds_writes_back_until_a_replica_streams_from_it()
    {
        await using var former = new RedisServer();
        await former.InitializeAsync();
        await using var promoted = new RedisServer { ExtraArguments = ["--replicaof", "127.0.0.1", Port(former)] };
        await promoted.InitializeAsync();
        await Eventually.HoldsAsync(
            async () => (await InfoAsync(promoted)).Contains("master_link_status:up", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20),
            "the replica is in sync");

        // A failover: the replica becomes a primary, and nothing streams from it yet.
        await promoted.AdminServer.ExecuteAsync("REPLICAOF", "NO", "ONE");
        await former.StopAsync();
        var logs = new CapturedLogs();
        var app = Own(TestApp.Create(promoted, Prefix, KeyRing, o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(300), logs));

        await Assert.ThrowsAsync<PitchlyTokenStoreUnavailableException>(
            async () => await app.Store.SetAsync(User, Records.Create("access-1", "refresh-1"), Cancel));
        Assert.Contains(logs.Entries, entry => entry.EventId == ReplicationStateUnknownEventId && entry.Message.Contains("promoted", StringComparison.Ordinal));
        Assert.Equal(HealthStatus.Degraded, (await app.CheckHealthAsync()).Status);

        // A replica attaches and streams: writes are acknowledged by it, and go through.
        await using var replica = new RedisServer { ExtraArguments = ["--replicaof", "127.0.0.1", Port(promoted)] };
        await replica.InitializeAsync();
        await Eventually.HoldsAsync(
            async () => (await InfoAsync(promoted)).Contains("state=online", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20),
            "the new replica streams");
        await Task.Delay(1100, Cancel); // past the cached replication state
        var written = await app.Store.SetAsync(User, Records.Create("access-2", "refresh-2"), Cancel);
        Assert.Equal(written.Version, (long)await replica.Admin.GetDatabase().HashGetAsync(new RedisKeyNames(Prefix).Record(RedisKeyNames.Hash(User)), "v"));
    }

    private static PitchlyTokenKey User => PitchlyTokenKey.ForUser("org-unknown", "person-unknown");

    private static string Port(RedisServer server) => server.Port.ToString(CultureInfo.InvariantCulture);

    private static async Task<string> InfoAsync(RedisServer server) => (string)(await server.AdminServer.ExecuteAsync("INFO", "replication"))!;
}

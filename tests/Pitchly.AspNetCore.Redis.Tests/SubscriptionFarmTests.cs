namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// Three application instances (each its own service provider, Redis store, lock and connections, in this process)
/// sharing one real redis-server, each holding a subscription of the same user against the emulator's graphql-ws
/// endpoint while the user's 1-second tokens expire and are invalidated.
/// </summary>
public sealed class SubscriptionFarmTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Three_instances_keep_their_subscriptions_open_across_expiries_and_invalidations_sharing_each_refresh_without_reuse()
    {
        const int Instances = 3;
        const int Rotations = 10;
        const int Invalidations = 3;
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.AccessTokenLifetime = TimeSpan.FromSeconds(1), Cancellation);
        var keyRing = Directory.CreateTempSubdirectory("pitchly-farm-keys-").FullName;
        var prefix = $"farm-{Guid.NewGuid():N}:";
        var apps = Enumerable.Range(0, Instances).Select(_ => CreateInstance(server, keyRing, prefix)).ToArray();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        try
        {
            var ada = await SignInAsync(server, apps[0]);
            server.Emulator.ResetStats();
            var received = apps.Select(_ => new ConcurrentQueue<string>()).ToArray();
            var consumers = apps.Select((app, i) => Task.Run(async () =>
            {
                var client = app.GetRequiredService<IPitchlySubscriptionClient>();
                var request = new PitchlyGraphQLRequest(
                    "subscription ($db: ID!) { dataRowsChanged(databaseId: $db) { rowIds } }",
                    new Dictionary<string, object?> { ["db"] = ClientsDatabaseId });
                await foreach (var change in client.SubscribeAsync<JsonElement>(ada, request, stop.Token))
                {
                    received[i].Enqueue(change.GetDataOrThrow().GetProperty("dataRowsChanged").GetProperty("rowIds")[0].GetString()!);
                }
            }, Cancellation)).ToArray();
            await Eventually.HoldsAsync(() => server.Emulator.GetStats().SubscriptionOperations >= Instances, Patience, "every instance subscribed");

            var invalidated = 0;
            while (invalidated < Invalidations || server.Emulator.GetStats().RefreshGrants < Rotations + Invalidations)
            {
                Assert.DoesNotContain(consumers, c => c.IsCompleted);
                var grants = server.Emulator.GetStats().RefreshGrants;
                if (invalidated < Invalidations && grants >= 3 * (invalidated + 1)
                    && server.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId) > 0)
                {
                    invalidated++;
                }

                server.Emulator.InsertRow(ClientsDatabaseId);
                await Task.Delay(20, Cancellation);
            }

            // Every instance is still subscribed: one row raised after the last rotation reaches all three.
            server.Emulator.Configure(o => o.AccessTokenLifetime = TimeSpan.FromHours(1));
            while (server.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId) == 0)
            {
                await Task.Delay(10, Cancellation);
            }

            var delivered = false;
            for (var attempt = 0; attempt < 20 && !delivered; attempt++)
            {
                var row = server.Emulator.InsertRow(ClientsDatabaseId);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
                while (!(delivered = received.All(q => q.Contains(row))) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(10, Cancellation);
                }
            }

            Assert.True(delivered, "Not every instance received an event after the last rotation.");
            await stop.CancelAsync();
            foreach (var consumer in consumers)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer.WaitAsync(Patience, Cancellation));
            }

            var stats = server.Emulator.GetStats();
            Assert.Equal(0, stats.RefreshTokenReuse);
            Assert.Equal(0, stats.RevokedFamilies);
            Assert.Equal(stats.RefreshGrants, stats.AccessTokensIssued);
            Assert.Equal(stats.SubscriptionConnections, stats.SubscriptionOperations);

            // Each token was rejected on (up to) three connections, and refreshed once for all of them: the other
            // instances found the new token in Redis after the lock instead of spending the refresh token.
            Assert.True(stats.SubscriptionTokenRejections >= 2 * stats.RefreshGrants, $"{stats.SubscriptionTokenRejections} rejections for {stats.RefreshGrants} refresh grants: {stats}");
            foreach (var queue in received)
            {
                var rows = queue.ToArray();
                Assert.Equal(rows.Length, rows.Distinct().Count());
            }

            TestContext.Current.SendDiagnosticMessage($"{stats.RefreshGrants} refresh grants, {stats.SubscriptionTokenRejections} rejections, {stats.SubscriptionEvents} events sent, received {string.Join("/", received.Select(q => q.Count))}.");
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }
        }
    }

    private ServiceProvider CreateInstance(PitchlyEmulatorServer server, string keyRing, string prefix)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(server.ClientConfiguration).Build());
        services.AddDataProtection().SetApplicationName("pitchly-subscription-farm").PersistKeysToFileSystem(new DirectoryInfo(keyRing));
        services.AddPitchlyTokenManagement(o => o.TokenEndpointRetryTimeout = TimeSpan.Zero).AddRedis(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = prefix;
        });
        services.AddPitchlySubscriptionClient(o =>
        {
            o.ReconnectDelay = TimeSpan.FromMilliseconds(20);
            o.MaxReconnectDelay = TimeSpan.FromMilliseconds(200);
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("warm-up").Protect([1]);
        return provider;
    }

    /// <summary>Signs Ada in at the emulator (authorization code grant) and stores her tokens as sign-in would.</summary>
    private static Task<PitchlyTokenKey> SignInAsync(PitchlyEmulatorServer server, IServiceProvider app) =>
        EmulatorSignIn.SignInAndStoreAsync(server, app.GetRequiredService<IPitchlyTokenStore>(), PitchlyEmulatorDefaults.AdaLovelacePersonId);
}

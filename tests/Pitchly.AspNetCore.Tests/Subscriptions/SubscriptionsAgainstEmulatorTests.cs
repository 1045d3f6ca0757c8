using Pitchly.AspNetCore.Tests.EmulatorIntegration;
using static Pitchly.AspNetCore.Tests.EmulatorIntegration.EmulatorFixture;

namespace Pitchly.AspNetCore.Tests.Subscriptions;

/// <summary>The subscription client against the emulator's real <c>/subscriptions</c> endpoint and token endpoint.</summary>
public sealed class SubscriptionsAgainstEmulatorTests
{
    public const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";

    public static readonly PitchlyGraphQLRequest RowsChanged = new(
        "subscription ($db: ID!) { dataRowsChanged(databaseId: $db) { databaseId kind rowIds } }",
        new Dictionary<string, object?> { ["db"] = ClientsDatabaseId });

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_subscription_stays_open_across_ten_expiries_and_three_invalidations_without_losing_an_event_or_reusing_a_refresh_token()
    {
        const int Expiries = 10;
        const int Invalidations = 3;
        await using var app = await StartAsync(
            emulator: o => o.AccessTokenLifetime = TimeSpan.FromSeconds(1),
            services: s => s.AddPitchlySubscriptionClient(o =>
            {
                o.ReconnectDelay = TimeSpan.FromMilliseconds(20);
                o.MaxReconnectDelay = TimeSpan.FromMilliseconds(200);
            }));
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        app.Emulator.ResetStats();
        var client = app.Services.GetRequiredService<IPitchlySubscriptionClient>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var received = new ConcurrentQueue<string>();
        var consumer = Task.Run(async () =>
        {
            await foreach (var change in client.SubscribeAsync<RowsData>(ada, RowsChanged, stop.Token))
            {
                received.Enqueue(change.GetDataOrThrow().DataRowsChanged.RowIds.Single());
            }
        }, Cancellation);
        await Eventually.HoldsAsync(() => app.Emulator.GetStats().SubscriptionOperations == 1, Patience, "the emulator accepted the subscription");

        // One row at a time, each raised (by someone else) while the test watches: it must arrive, unless a connection
        // ended around it — then Pitchly has closed the subscription (a rejection was counted) and the client has
        // subscribed again before it showed up, so it was raised while no subscription was open.
        var inserted = new List<string>();
        var lostAcrossReconnects = 0;
        var invalidated = 0;
        while (invalidated < Invalidations || app.Emulator.GetStats().SubscriptionTokenRejections < Expiries + Invalidations)
        {
            Assert.False(consumer.IsCompleted, "The subscription ended: " + consumer.Exception?.GetBaseException().Message);
            var before = app.Emulator.GetStats();
            if (invalidated < Invalidations && before.SubscriptionTokenRejections >= 3 * (invalidated + 1)
                && app.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId) > 0)
            {
                // In the middle of a token's life, as Pitchly may.
                invalidated++;
            }

            var row = app.Emulator.InsertRow(ClientsDatabaseId);
            inserted.Add(row);
            await Eventually.HoldsAsync(
                () => received.Contains(row) || app.Emulator.GetStats().SubscriptionOperations > before.SubscriptionOperations,
                Patience,
                $"row {inserted.Count} arrives or the subscription is replaced");
            if (!received.Contains(row))
            {
                // The event may still be on its way from the old connection.
                await Task.Delay(200, Cancellation);
            }

            if (!received.Contains(row))
            {
                // Open subscriptions = operations accepted minus those closed for their token (one subscription here).
                var wasClosedAtInsert = before.SubscriptionOperations - before.SubscriptionTokenRejections < 1;
                var closedSince = app.Emulator.GetStats().SubscriptionTokenRejections > before.SubscriptionTokenRejections;
                Assert.True(wasClosedAtInsert || closedSince, $"Row {inserted.Count} was lost while the subscription was open: {before}");
                lostAcrossReconnects++;
            }
        }

        // Settle on a long-lived token (one more invalidation) so no expiry races the end of the test.
        app.Emulator.Configure(o => o.AccessTokenLifetime = TimeSpan.FromHours(1));
        var settling = app.Emulator.GetStats();
        while (app.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId) == 0)
        {
            await Task.Delay(10, Cancellation);
        }

        await Eventually.HoldsAsync(
            () => app.Emulator.GetStats() is var now && now.SubscriptionTokenRejections > settling.SubscriptionTokenRejections && now.SubscriptionOperations > settling.SubscriptionOperations,
            Patience,
            "the subscription is open again with a long-lived token");

        // A last event proves the subscription is still open (one raised during a final reconnect is lost, so retry).
        var lastArrived = false;
        for (var attempt = 0; attempt < 5 && !lastArrived; attempt++)
        {
            var last = app.Emulator.InsertRow(ClientsDatabaseId);
            inserted.Add(last);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (!(lastArrived = received.Contains(last)) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, Cancellation);
            }

            if (!lastArrived)
            {
                lostAcrossReconnects++;
            }
        }

        Assert.True(lastArrived, "No event arrived after the last rejection.");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer.WaitAsync(Patience, Cancellation));

        var stats = app.Emulator.GetStats();
        Assert.Equal(0, stats.RefreshTokenReuse);
        Assert.Equal(0, stats.RevokedFamilies);
        Assert.True(stats.EarlyInvalidations >= Invalidations, $"{stats.EarlyInvalidations} early invalidations");
        Assert.True(stats.SubscriptionTokenRejections >= Expiries + Invalidations, $"{stats.SubscriptionTokenRejections} token rejections");

        // One refresh per rejected token (plus, at most, the token manager's proactive renewal of the first, nearly
        // expired token when the subscription started); the subscription was accepted again after the rejections.
        Assert.True(
            stats.RefreshGrants >= stats.SubscriptionTokenRejections && stats.RefreshGrants <= stats.SubscriptionTokenRejections + 1,
            $"{stats.RefreshGrants} refresh grants for {stats.SubscriptionTokenRejections} rejections: {stats}");
        // Every acknowledged connection subscribed; a token invalidated between its refresh and connection_init is
        // rejected at init (a rejection without an operation) and refreshed again.
        Assert.Equal(stats.SubscriptionConnections, stats.SubscriptionOperations);
        Assert.True(stats.SubscriptionOperations > Expiries, $"{stats.SubscriptionOperations} operations for {stats.SubscriptionTokenRejections} rejections: {stats}");
        var arrived = received.ToArray();
        Assert.Equal(arrived.Length, arrived.Distinct().Count());
        Assert.Equal(inserted.Where(arrived.Contains), arrived);
        Assert.True(inserted.Count == arrived.Length + lostAcrossReconnects, $"{inserted.Count} raised, {arrived.Length} arrived, {lostAcrossReconnects} counted lost");
        Assert.True(lostAcrossReconnects <= stats.SubscriptionTokenRejections, $"{lostAcrossReconnects} events lost across {stats.SubscriptionTokenRejections} reconnects");
        TestContext.Current.SendDiagnosticMessage($"{inserted.Count} events raised, {arrived.Length} arrived, {lostAcrossReconnects} raised while reconnecting; {stats.SubscriptionTokenRejections} rejections, {stats.RefreshGrants} refresh grants.");
    }

    [Fact]
    public async Task A_bad_token_is_closed_with_4403_refreshed_and_the_subscription_resumes()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlySubscriptionClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var client = app.Services.GetRequiredService<IPitchlySubscriptionClient>();
        await using var events = client.SubscribeAsync<RowsData>(ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await Eventually.HoldsAsync(() => app.Emulator.GetStats().SubscriptionOperations == 1, Patience, "the emulator accepted the subscription");

        app.Emulator.InvalidateAccessTokens(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        await Eventually.HoldsAsync(() => app.Emulator.GetStats().SubscriptionOperations == 2, Patience, "the client subscribed again");
        var row = app.Emulator.InsertRow(ClientsDatabaseId);

        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(row, events.Current.GetDataOrThrow().DataRowsChanged.RowIds.Single());
        Assert.Equal("INSERTED", events.Current.Data!.DataRowsChanged.Kind);
        var stats = app.Emulator.GetStats();
        Assert.Equal(1, stats.SubscriptionTokenRejections);
        Assert.Equal(1, stats.RefreshGrants);
        Assert.Equal(0, stats.RefreshTokenReuse);
    }

    [Fact]
    public async Task An_endpoint_that_rejects_every_socket_costs_refresh_grants_within_the_breaker_budget_however_often_the_app_subscribes_again()
    {
        const int Subscriptions = 10;
        await using var app = await StartAsync(services: s => s.AddPitchlySubscriptionClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var limit = app.Services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>().CurrentValue.RejectedTokenLimit;

        // Every token is invalidated as its connection_init is checked: every socket is closed with 4403.
        app.Emulator.Configure(o => o.EarlyInvalidationRate = 1);
        app.Emulator.ResetStats();
        var client = app.Services.GetRequiredService<IPitchlySubscriptionClient>();
        var failures = new List<Exception>();
        for (var attempt = 0; attempt < Subscriptions; attempt++)
        {
            failures.Add(await SubscribeUntilItEndsAsync());
        }

        var stats = app.Emulator.GetStats();
        Assert.True(stats.RefreshGrants < limit, $"{stats.RefreshGrants} refresh grants for {Subscriptions} subscriptions; the breaker allows fewer than {limit}: {stats}");
        Assert.Equal(0, stats.SubscriptionConnections);
        Assert.Equal(0, stats.RefreshTokenReuse);
        var paused = Assert.IsType<PitchlyTokenRejectedException>(failures[^1]);
        Assert.Equal(ada, paused.Key);
        Assert.NotNull(paused.RetryAfter);

        // While paused, subscribing again opens no socket and spends nothing.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.IsType<PitchlyTokenRejectedException>(await SubscribeUntilItEndsAsync());
        }

        Assert.Equal(stats, app.Emulator.GetStats());

        // What an application's background service does when its subscription ends: subscribe again.
        Task<PitchlyException> SubscribeUntilItEndsAsync() => Assert.ThrowsAnyAsync<PitchlyException>(async () =>
        {
            await foreach (var _ in client.SubscribeAsync<RowsData>(ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);
    }

    [Fact]
    public async Task A_validation_error_from_the_emulator_raises_typed_GraphQL_errors()
    {
        await using var app = await StartAsync(services: s => s.AddPitchlySubscriptionClient());
        var ada = await app.SignInAsync(PitchlyEmulatorDefaults.AdaLovelacePersonId);
        var client = app.Services.GetRequiredService<IPitchlySubscriptionClient>();

        var thrown = await Assert.ThrowsAnyAsync<PitchlyGraphQLException>(async () =>
        {
            await foreach (var _ in client.SubscribeAsync<RowsData>(ada, new PitchlyGraphQLRequest("subscription { dataRowsChanged(databaseId: \"x\") { noSuchField } }"), Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.NotEmpty(thrown.Errors);
        Assert.Contains("noSuchField", thrown.Message, StringComparison.Ordinal);
    }

    public sealed record RowsData(RowsChangedEvent DataRowsChanged);

    public sealed record RowsChangedEvent(string DatabaseId, string Kind, IReadOnlyList<string> RowIds);
}

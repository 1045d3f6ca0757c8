using System.Runtime.CompilerServices;
using System.Diagnostics.Metrics;
using static Pitchly.AspNetCore.Internal.Subscriptions.GraphQLWsProtocol;
using static Pitchly.AspNetCore.Tests.Subscriptions.SubscriptionApp;

namespace Pitchly.AspNetCore.Tests.Subscriptions;

public sealed class SubscriptionClientTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const int PitchlySubscriptionClientRejections = Pitchly.AspNetCore.Internal.Subscriptions.PitchlySubscriptionClient.MaxRejectionsInARow;

    private static readonly PitchlyGraphQLRequest RowsChanged = new(
        "subscription Rows($db: ID!) { dataRowsChanged(databaseId: $db) { id sequence } }",
        new Dictionary<string, object?> { ["db"] = "db1" });

    private static JsonObject Event(int sequence) => new() { ["dataRowsChanged"] = new JsonObject { ["id"] = $"row{sequence}", ["sequence"] = sequence } };

    private static async Task<PitchlyGraphQLResponse<RowsData>> NextAsync(IAsyncEnumerator<PitchlyGraphQLResponse<RowsData>> events)
    {
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience, Cancellation), "The subscription ended before the next event.");
        return events.Current;
    }

    private static async Task<PitchlyGraphQLResponse<RowsData>> PublishAndReceiveAsync(SubscriptionApp app, IAsyncEnumerator<PitchlyGraphQLResponse<RowsData>> events, int sequence)
    {
        var next = events.MoveNextAsync().AsTask();
        Assert.Equal(1, await app.Pitchly.PublishAsync(Event(sequence)));
        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(sequence, events.Current.GetDataOrThrow().DataRowsChanged.Sequence);
        return events.Current;
    }

    [Fact]
    public async Task Events_arrive_typed_and_the_token_travels_only_in_connection_init_as_a_bearer_authorization()
    {
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var first = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.PublishAsync(Event(1));
        Assert.True(await first.WaitAsync(Patience, Cancellation));
        var withErrors = events.MoveNextAsync().AsTask();
        await app.Pitchly.PublishAsync(Event(2), [new JsonObject { ["message"] = "partial", ["extensions"] = new JsonObject { ["code"] = "PARTIAL" }, ["path"] = new JsonArray("dataRowsChanged", "id") }]);
        Assert.True(await withErrors.WaitAsync(Patience, Cancellation));

        Assert.Equal(2, events.Current.Data!.DataRowsChanged.Sequence);
        var error = Assert.Single(events.Current.Errors);
        Assert.Equal("PARTIAL", error.Code);
        Assert.Equal(["dataRowsChanged", "id"], error.Path!);
        Assert.Equal("Bearer " + record.AccessToken, Assert.Single(app.Pitchly.SeenConnectionInits));
        var subscribe = Assert.Single(app.Pitchly.SeenSubscribes);
        Assert.Equal(RowsChanged.Query, (string?)subscribe["payload"]!["query"]);
        Assert.Equal("db1", (string?)subscribe["payload"]!["variables"]!["db"]);
        Assert.Null(subscribe["payload"]!["variables"]!["accessToken"]);
        Assert.DoesNotContain(record.AccessToken, subscribe.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscription_closed_with_4403_is_refreshed_with_the_rejected_token_and_subscribed_again()
    {
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);
        using var resubscribes = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), PitchlyMetrics.MeterName, "pitchly.subscription.resubscribes");
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var first = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(Event(1));
        Assert.True(await first.WaitAsync(Patience, Cancellation));

        app.Pitchly.Invalidate(record.AccessToken);
        await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == 2 && app.Pitchly.ActiveSubscriptions == 1, Patience, "the subscription is subscribed again");
        await PublishAndReceiveAsync(app, events, 2);

        Assert.Equal(1, app.Pitchly.RefreshGrants);
        Assert.Equal(0, app.Pitchly.Reuses);
        var inits = app.Pitchly.SeenConnectionInits.ToArray();
        Assert.Equal(["Bearer " + record.AccessToken, "Bearer " + await app.CurrentAccessTokenAsync(Ada)], inits);
        Assert.Equal(1, resubscribes.GetMeasurementSnapshot().EvaluateAsCounter());
        AssertNoSecretLogged(app, record);
    }

    [Fact]
    public async Task A_subscription_stays_open_across_repeated_invalidations_with_one_refresh_each_and_no_event_lost_while_connected()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var first = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(Event(0));
        Assert.True(await first.WaitAsync(Patience, Cancellation));

        for (var round = 1; round <= 6; round++)
        {
            app.Pitchly.Invalidate(await app.CurrentAccessTokenAsync(Ada));
            await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == round + 1 && app.Pitchly.ActiveSubscriptions == 1, Patience, $"subscribed again after invalidation {round}");
            await PublishAndReceiveAsync(app, events, round);
        }

        Assert.Equal(6, app.Pitchly.RefreshGrants);
        Assert.Equal(0, app.Pitchly.Reuses);
        Assert.Equal(7, app.Pitchly.EventsSent);
    }

    [Fact]
    public async Task A_quiet_subscription_crosses_token_expiries_without_tripping_the_breaker()
    {
        await using var app = await StartAsync();
        app.Pitchly.AccessTokenLifetimeSeconds = 3;
        var record = await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        app.Pitchly.Invalidate(record.AccessToken);
        await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == 2 && app.Pitchly.ActiveSubscriptions == 1, Patience, "subscribed with a short-lived token");

        // Pitchly closes each token when it expires; no event flows in between.
        for (var expiry = 1; expiry <= 3; expiry++)
        {
            var current = await app.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(Ada, Cancellation);
            var wait = current!.ExpiresAt - TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, Cancellation);
            }

            app.Pitchly.Invalidate(current.AccessToken);
            await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == expiry + 2 && app.Pitchly.ActiveSubscriptions == 1, Patience, $"subscribed again after expiry {expiry}");
        }

        Assert.False(next.IsCompleted);
        await app.Pitchly.PublishAsync(Event(1));
        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(0, app.Pitchly.Reuses);
    }

    [Fact]
    public async Task Tokens_accepted_and_then_rejected_at_once_again_and_again_end_the_subscription_instead_of_rotating_tokens()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();

        for (var round = 1; round <= PitchlySubscriptionClientRejections; round++)
        {
            await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == round && app.Pitchly.ActiveSubscriptions == 1, Patience, $"subscribed for the {round}. time");
            app.Pitchly.Invalidate(await app.CurrentAccessTokenAsync(Ada));
        }

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.Equal(CloseCode.Forbidden, thrown.CloseStatus);
        Assert.Equal(PitchlySubscriptionClientRejections - 1, app.Pitchly.RefreshGrants);
        Assert.Equal(0, app.Pitchly.Reuses);
    }

    [Fact]
    public async Task Subscriptions_of_one_key_closed_together_share_one_refresh()
    {
        const int Count = 6;
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);
        var enumerators = Enumerable.Range(0, Count).Select(_ => app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation)).ToArray();
        try
        {
            var pending = enumerators.Select(e => e.MoveNextAsync().AsTask()).ToArray();
            await app.Pitchly.WaitForSubscriptionsAsync(Count);

            app.Pitchly.Invalidate(record.AccessToken);
            await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == 2 * Count && app.Pitchly.ActiveSubscriptions == Count, Patience, "every subscription is subscribed again");
            Assert.Equal(Count, await app.Pitchly.PublishAsync(Event(1)));

            foreach (var next in pending)
            {
                Assert.True(await next.WaitAsync(Patience, Cancellation));
            }

            Assert.All(enumerators, e => Assert.Equal(1, e.Current.GetDataOrThrow().DataRowsChanged.Sequence));
            Assert.Equal(1, app.Pitchly.RefreshGrants);
            Assert.Equal(0, app.Pitchly.Reuses);
        }
        finally
        {
            foreach (var e in enumerators)
            {
                await e.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Tokens_rejected_right_away_again_and_again_end_the_subscription_with_a_typed_error_and_no_refresh_loop()
    {
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);
        app.Pitchly.RejectAllTokens = true;

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.IsNotType<PitchlySubscriptionReconnectException>(thrown);
        Assert.Equal(CloseCode.Forbidden, thrown.CloseStatus);
        Assert.Equal(3, app.Pitchly.SubscriptionRejections);
        Assert.Equal(2, app.Pitchly.RefreshGrants);
        Assert.Equal(0, app.Pitchly.Reuses);
        Assert.DoesNotContain(record.AccessToken, thrown.ToString(), StringComparison.Ordinal);
        AssertNoSecretLogged(app, record);
    }

    [Fact]
    public async Task A_lost_connection_is_re_established_with_the_stored_token_and_events_flow_again()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        using var reconnects = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), PitchlyMetrics.MeterName, "pitchly.subscription.reconnects");
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var first = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(Event(1));
        Assert.True(await first.WaitAsync(Patience, Cancellation));

        app.Pitchly.DropSubscriptions();
        await Eventually.HoldsAsync(() => app.Pitchly.Subscribes == 2 && app.Pitchly.ActiveSubscriptions == 1, Patience, "the subscription is subscribed again");
        await PublishAndReceiveAsync(app, events, 2);

        Assert.Equal(0, app.Pitchly.RefreshGrants);
        var measurement = Assert.Single(reconnects.GetMeasurementSnapshot());
        Assert.Equal("connection_lost", measurement.Tags["reason"]);
    }

    [Fact]
    public async Task A_server_that_keeps_failing_ends_the_subscription_with_a_reconnect_exception_after_the_configured_attempts()
    {
        await using var app = await StartAsync(o => o.MaxReconnectAttempts = 3);
        await app.SignInAsync(Ada);
        app.Pitchly.HandshakeStatus = 503;

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionReconnectException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.Equal(3, thrown.Attempts);
        Assert.Equal(4, app.Pitchly.SubscriptionConnections);
        Assert.Contains("MaxReconnectAttempts", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handshake_refused_with_404_is_a_configuration_error_and_not_retried()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        app.Pitchly.HandshakeStatus = 404;

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.IsNotType<PitchlySubscriptionReconnectException>(thrown);
        Assert.Contains("Pitchly:Subscriptions:Endpoint", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Theory]
    [InlineData(CloseCode.BadRequest)]
    [InlineData(CloseCode.SubscriberAlreadyExists)]
    public async Task A_close_that_a_new_connection_would_not_cure_ends_the_subscription_without_reconnecting(int code)
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.CloseSubscriptionsAsync(code);

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.Equal(code, thrown.CloseStatus);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Theory]
    [InlineData("GRAPHQL_VALIDATION_FAILED", false)]
    [InlineData("FORBIDDEN", true)]
    public async Task An_error_message_raises_its_GraphQL_errors_typed(string code, bool notAuthorized)
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        app.Pitchly.OperationErrors = [new JsonObject { ["message"] = "Refused: " + code, ["extensions"] = new JsonObject { ["code"] = code } }];

        var thrown = await Assert.ThrowsAnyAsync<PitchlyGraphQLException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.Equal(notAuthorized, thrown is PitchlyNotAuthorizedException);
        Assert.Equal(code, Assert.Single(thrown.Errors).Code);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task An_enumerator_dropped_without_disposal_closes_its_connection_once_collected()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);

        // Takes one event, then drops the enumerator without DisposeAsync, as a consumer that forgets it would.
        await ReceiveOneAndDropAsync(app);
        Assert.Equal(1, app.Pitchly.ActiveSubscriptions);

        await Eventually.HoldsAsync(
            () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                return app.Pitchly.ActiveSubscriptions == 0 && app.Pitchly.CompletesReceived == 1 && app.Pitchly.NormalClosesReceived == 1;
            },
            Patience,
            "the fake saw the dropped subscription completed and its connection closed");
        Assert.Contains(app.Logs.GetSnapshot(), log => log.Id.Id == 2208);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task ReceiveOneAndDropAsync(SubscriptionApp app)
    {
        var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        Assert.Equal(1, await app.Pitchly.PublishAsync(Event(1)));
        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(1, events.Current.GetDataOrThrow().DataRowsChanged.Sequence);
    }

    [Fact]
    public async Task Cancelling_sends_complete_and_closes_the_connection_normally()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, cancel.Token).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Patience, Cancellation));
        await Eventually.HoldsAsync(() => app.Pitchly.CompletesReceived == 1 && app.Pitchly.NormalClosesReceived == 1, Patience, "the fake received complete and a normal close");
        Assert.Equal(0, app.Pitchly.ActiveSubscriptions);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task Leaving_the_loop_sends_complete_and_closes_the_connection_normally()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        var publisher = Task.Run(async () =>
        {
            await app.Pitchly.WaitForSubscriptionsAsync(1);
            await app.Pitchly.PublishAsync(Event(1));
        }, Cancellation);

        await foreach (var response in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
        {
            Assert.Equal(1, response.GetDataOrThrow().DataRowsChanged.Sequence);
            break;
        }

        await publisher;
        await Eventually.HoldsAsync(() => app.Pitchly.CompletesReceived == 1 && app.Pitchly.NormalClosesReceived == 1, Patience, "the fake received complete and a normal close");
    }

    [Fact]
    public async Task Pitchly_completing_the_subscription_ends_the_enumeration()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.CompleteSubscriptionsAsync();

        Assert.False(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task Pings_are_answered_with_pongs()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.PingAsync();

        await Eventually.HoldsAsync(() => app.Pitchly.PongsReceived == 1, Patience, "the fake received a pong");
        await app.Pitchly.PublishAsync(Event(1));
        Assert.True(await next.WaitAsync(Patience, Cancellation));
    }

    [Fact]
    public async Task A_key_without_tokens_raises_sign_in_required_without_connecting()
    {
        await using var app = await StartAsync();

        var thrown = await Assert.ThrowsAsync<PitchlySignInRequiredException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation))
            {
            }
        }).WaitAsync(Patience, Cancellation);

        Assert.Equal(Ada, thrown.Key);
        Assert.Equal(0, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task A_refresh_token_Pitchly_refuses_after_a_4403_raises_sign_in_required()
    {
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        app.Pitchly.TokenEndpointOverride = async context =>
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new { error = "invalid_grant" });
        };

        app.Pitchly.Invalidate(record.AccessToken);

        await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task The_current_user_is_read_when_subscribing_and_a_request_without_one_raises_sign_in_required()
    {
        await using var app = await StartAsync();
        var record = await app.SignInAsync(Ada);

        await Assert.ThrowsAsync<PitchlySignInRequiredException>(async () =>
        {
            await foreach (var _ in app.Client.SubscribeAsync<RowsData>(RowsChanged, Cancellation))
            {
            }
        });

        app.ActAs(Ada);
        var subscription = app.Client.SubscribeAsync<RowsData>(RowsChanged, Cancellation);
        app.Services.GetRequiredService<IHttpContextAccessor>().HttpContext = null;
        await using var events = subscription.GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(Event(1));

        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal("Bearer " + record.AccessToken, Assert.Single(app.Pitchly.SeenConnectionInits));
    }

    [Fact]
    public async Task An_install_key_subscribes_with_an_app_token_and_no_HTTP_request()
    {
        await using var app = await StartAsync();
        var install = PitchlyTokenKey.ForInstall("org1");
        await using var events = app.Client.SubscribeAsync<RowsData>(install, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);
        await app.Pitchly.PublishAsync(Event(1));

        Assert.True(await next.WaitAsync(Patience, Cancellation));
        Assert.Equal(1, app.Pitchly.ClientCredentialsGrants);
        Assert.Equal("Bearer " + await app.CurrentAccessTokenAsync(install), Assert.Single(app.Pitchly.SeenConnectionInits));
    }

    [Fact]
    public async Task An_oversized_message_ends_the_subscription_with_a_typed_error()
    {
        await using var app = await StartAsync(o => o.MaxMessageSize = 1024);
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.PublishAsync(new JsonObject { ["dataRowsChanged"] = new JsonObject { ["id"] = new string('x', 4096), ["sequence"] = 1 } });

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.Equal(1009, thrown.CloseStatus);
        Assert.Contains("MaxMessageSize", thrown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"surprise"}""")]
    [InlineData("not json")]
    public async Task A_message_that_is_not_graphql_ws_ends_the_subscription_with_a_typed_error(string message)
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.SendRawAsync(message);

        var thrown = await Assert.ThrowsAsync<PitchlySubscriptionException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.Equal(CloseCode.BadRequest, thrown.CloseStatus);
        Assert.Equal(1, app.Pitchly.SubscriptionConnections);
    }

    [Fact]
    public async Task Data_that_does_not_fit_the_type_ends_the_subscription_with_a_typed_error()
    {
        await using var app = await StartAsync();
        await app.SignInAsync(Ada);
        await using var events = app.Client.SubscribeAsync<RowsData>(Ada, RowsChanged, Cancellation).GetAsyncEnumerator(Cancellation);
        var next = events.MoveNextAsync().AsTask();
        await app.Pitchly.WaitForSubscriptionsAsync(1);

        await app.Pitchly.PublishAsync(new JsonObject { ["dataRowsChanged"] = new JsonObject { ["id"] = "r", ["sequence"] = "not a number" } });

        var thrown = await Assert.ThrowsAsync<PitchlyGraphQLException>(() => next.WaitAsync(Patience, Cancellation));
        Assert.IsType<System.Text.Json.JsonException>(thrown.InnerException);
    }

    private static void AssertNoSecretLogged(SubscriptionApp app, PitchlyTokenRecord record)
    {
        var logs = app.Logs.GetSnapshot();
        Assert.NotEmpty(logs);
        foreach (var entry in logs)
        {
            var text = entry.Message + entry.Exception;
            Assert.DoesNotContain(record.AccessToken, text, StringComparison.Ordinal);
            Assert.DoesNotContain(record.RefreshToken!, text, StringComparison.Ordinal);
            Assert.DoesNotContain("Bearer ", text, StringComparison.Ordinal);
        }
    }
}

public sealed record RowsData(RowChange DataRowsChanged);

public sealed record RowChange(string Id, int Sequence);

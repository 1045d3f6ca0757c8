using System.Reflection;
using Pitchly.AspNetCore.Internal.Replay;
using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>
/// The replay rule: a call rejected for its token is replayed while each replay carries a newer token, and a per-key
/// breaker stops a key whose every fresh token is rejected from rotating in a loop.
/// </summary>
public sealed class ReplayRuleTests
{
    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_call_whose_replays_meet_two_more_invalidations_still_succeeds_on_the_fourth_token()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);

        // Pitchly kills each of the next three tokens as it is used, as a burst of early invalidations would.
        var kills = 0;
        pitchly.GraphQLOverride = async (context, person) =>
        {
            if (Interlocked.Increment(ref kills) <= 3)
            {
                pitchly.Invalidate(pitchly.Seen.Last().Token!);
                await WriteUnauthenticatedAsync(context);
                return;
            }

            await context.Response.WriteAsync("{\"data\":{\"viewer\":{\"person\":{\"id\":\"" + person + "\"}}}}");
        };

        using var response = await Client(services).PostAsync("", Json(), Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("psn_alice", await response.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
        Assert.Equal(3, pitchly.RefreshGrants);
        Assert.Equal(4, pitchly.GraphQLRequests);
        Assert.Equal(4, pitchly.Seen.Select(seen => seen.Token).Distinct().Count());
        Assert.Equal(0, pitchly.Reuses);
        Assert.NotEqual(stored.AccessToken, pitchly.Seen.Last().Token);
    }

    [Fact]
    public async Task Tokens_killed_while_calls_keep_succeeding_never_pause_refreshing()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        var client = Client(services);

        for (var round = 0; round < 12; round++)
        {
            using var response = await client.PostAsync("", Json(), Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            pitchly.Invalidate(pitchly.Seen.Last().Token!);
        }

        Assert.Equal(11, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task Every_token_rejected_pauses_refreshing_after_the_limit_fails_fast_and_tries_one_grant_per_cool_down()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        var client = Client(services);

        // Something between the app and Pitchly answers 401 to every call, whatever the token.
        pitchly.GraphQLOverride = (context, _) => WriteUnauthenticatedAsync(context);

        var paused = await Assert.ThrowsAsync<PitchlyTokenRejectedException>(() => client.PostAsync("", Json(), Cancel));
        Assert.Equal(Alice, paused.Key);
        Assert.Equal(time.GetUtcNow().AddSeconds(30), paused.RetryAfter);
        Assert.Contains("rejected 5 freshly issued access tokens", paused.Message, StringComparison.Ordinal);
        Assert.Equal(4, pitchly.RefreshGrants);
        Assert.Equal(5, pitchly.GraphQLRequests);

        // Paused: calls fail fast, without reaching Pitchly and without a grant.
        for (var call = 0; call < 5; call++)
        {
            await Assert.ThrowsAsync<PitchlyTokenRejectedException>(() => client.PostAsync("", Json(), Cancel));
        }

        Assert.Equal(4, pitchly.RefreshGrants);
        Assert.Equal(5, pitchly.GraphQLRequests);

        // After the cool-down one more grant is tried; its token is rejected too, so refreshing pauses again.
        time.Advance(TimeSpan.FromSeconds(31));
        await Assert.ThrowsAsync<PitchlyTokenRejectedException>(() => client.PostAsync("", Json(), Cancel));
        Assert.Equal(5, pitchly.RefreshGrants);

        // Once calls are served again (the last token is good), the count starts from zero: a later kill is refreshed.
        pitchly.GraphQLOverride = null;
        time.Advance(TimeSpan.FromSeconds(31));
        using (var served = await client.PostAsync("", Json(), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        pitchly.Invalidate(pitchly.Seen.Last().Token!);
        using (var afterKill = await client.PostAsync("", Json(), Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, afterKill.StatusCode);
        }

        Assert.Equal(6, pitchly.RefreshGrants);
        Assert.Equal(0, pitchly.Reuses);
    }

    [Fact]
    public async Task Old_tokens_rejected_again_by_calls_still_in_flight_after_a_success_never_pause_refreshing()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();

        // Three tokens killed one after another, a success in between each; then calls still holding them come back
        // rejected, interleaved, many times over. Each was counted once already: nothing pauses.
        foreach (var token in new[] { "t1", "t2", "t3" })
        {
            breaker.OnRejected(Alice, token);
            breaker.OnSucceeded(Alice);
        }

        for (var late = 0; late < 50; late++)
        {
            breaker.OnRejected(Alice, late % 2 == 0 ? "t1" : "t3");
            breaker.OnRejected(Alice, "t2");
        }

        breaker.ThrowIfPaused(Alice);

        // Fresh tokens rejected in a row with no success still do.
        for (var fresh = 1; fresh < 5; fresh++)
        {
            breaker.OnRejected(Alice, $"fresh{fresh}");
        }

        Assert.Throws<PitchlyTokenRejectedException>(() => breaker.OnRejected(Alice, "fresh5"));
    }

    [Fact]
    public async Task The_breaker_keeps_digests_of_rejected_tokens_never_the_tokens()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();
        var tokens = Enumerable.Range(0, 4).Select(i => $"pat_dead_bearer_{i}_{Guid.NewGuid():N}").ToArray();
        foreach (var token in tokens)
        {
            breaker.OnRejected(Alice, token);
        }

        Assert.Equal(1, breaker.TrackedKeys);
        var strings = ReachableStrings(breaker);
        Assert.NotEmpty(strings); // The walk reaches the tracked key's strings, so it would reach a token too.
        Assert.Contains(Alice.Value, strings);
        Assert.DoesNotContain(strings, s => tokens.Any(token => s.Contains(token, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_success_forgets_the_key_unless_it_is_paused()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();
        var bob = PitchlyTokenKey.ForUser("org_1", "psn_bob");

        breaker.OnRejected(Alice, "a1");
        breaker.OnRejected(bob, "b1");
        Assert.Equal(2, breaker.TrackedKeys);
        breaker.OnSucceeded(Alice);
        Assert.Equal(1, breaker.TrackedKeys);

        // A paused key keeps its state through a success until its pause ends.
        for (var i = 2; i < 5; i++)
        {
            breaker.OnRejected(bob, $"b{i}");
        }

        Assert.Throws<PitchlyTokenRejectedException>(() => breaker.OnRejected(bob, "b5"));
        breaker.OnSucceeded(bob);
        Assert.Equal(1, breaker.TrackedKeys);
        Assert.Throws<PitchlyTokenRejectedException>(() => breaker.ThrowIfPaused(bob));
        time.Advance(TimeSpan.FromSeconds(31));
        breaker.OnSucceeded(bob);
        Assert.Equal(0, breaker.TrackedKeys);
        breaker.ThrowIfPaused(bob);
    }

    [Fact]
    public async Task Keys_rejected_and_never_heard_of_again_are_swept_by_the_timer()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = Create(pitchly, time);
        var breaker = services.GetRequiredService<RejectedTokenBreaker>();
        for (var user = 0; user < 500; user++)
        {
            breaker.OnRejected(PitchlyTokenKey.ForUser("org_1", $"psn_{user}"), $"t{user}");
        }

        // One key keeps being rejected: it is not idle, so it stays.
        var busy = PitchlyTokenKey.ForUser("org_1", "psn_busy");
        breaker.OnRejected(busy, "busy0");
        Assert.Equal(501, breaker.TrackedKeys);
        var idle = RejectedTokenBreaker.IdleAfter + TimeSpan.FromSeconds(30);
        for (var step = 1; step <= 10; step++)
        {
            time.Advance(idle / 5);
            breaker.OnRejected(busy, "busy0");
        }

        // The timer fired on its own: no call of the breaker scanned anything.
        Assert.Equal(1, breaker.TrackedKeys);
        time.Advance(idle * 2);
        Assert.Equal(0, breaker.TrackedKeys);
    }

    [Fact]
    public void A_call_is_replayed_only_with_a_token_newer_than_the_rejected_ones_within_the_timeout_and_the_bound()
    {
        var time = new FakeTimeProvider(TestServices.Start);
        var replay = new ReplaySequence(time, TimeSpan.FromSeconds(30));
        replay.Rejected("t1");
        Assert.True(replay.MayReplayWith("t2"));
        Assert.False(replay.MayReplayWith("t1"));
        replay.Rejected("t2");
        Assert.False(replay.MayReplayWith("t1"));
        Assert.True(replay.MayReplayWith("t3"));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(replay.MayReplayWith("t3"));

        // Bounded by rejections alone (sign-in: one replay), however long it takes.
        var once = new ReplaySequence(time, Timeout.InfiniteTimeSpan, maxRejections: 2);
        once.Rejected("a");
        time.Advance(TimeSpan.FromDays(1));
        Assert.True(once.MayReplayWith("b"));
        once.Rejected("b");
        Assert.False(once.HasRoom);
        Assert.Equal(2, once.Rejections);
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "{}", true)]
    [InlineData(HttpStatusCode.OK, """{"data":null,"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}""", true)]
    [InlineData(HttpStatusCode.OK, """{"errors":[{"data":{"error":"token-invalid"}}]}""", true)]
    [InlineData(HttpStatusCode.OK, """{"errors":[{"data":{"error":"not-authorized"}}]}""", false)]
    [InlineData(HttpStatusCode.Forbidden, """{"data":null,"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}""", false)]
    [InlineData(HttpStatusCode.BadGateway, """{"data":null,"errors":[{"extensions":{"code":"UNAUTHENTICATED"}}]}""", false)]
    public void Every_caller_recognises_a_rejected_token_by_one_rule(HttpStatusCode status, string body, bool rejected)
    {
        var rule = new InvalidTokenRule(new PitchlyAccessTokenHandlerOptions().InvalidTokenErrorCodes);

        Assert.Equal(rejected, rule.IsInvalidToken(status, Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData(4403, true)]
    [InlineData(4401, true)]
    [InlineData(4400, false)]
    [InlineData(1000, false)]
    [InlineData(null, false)]
    public void A_subscription_closed_for_its_token_is_recognised_by_its_close_code(int? closeStatus, bool rejected)
        => Assert.Equal(rejected, InvalidTokenRule.IsInvalidTokenClose(closeStatus));

    private static ServiceProvider Create(FakePitchly pitchly, FakeTimeProvider time)
        => TestServices.Create(
            pitchly,
            time,
            s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken(_ => Alice),
            o => o.RejectedTokenLimit = 5);

    /// <summary>Every string reachable from <paramref name="root"/> through its collections and its own types' fields.</summary>
    private static List<string> ReachableStrings(object root)
    {
        var found = new List<string>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object>();
        pending.Push(root);
        while (pending.TryPop(out var current))
        {
            if (current is string text)
            {
                found.Add(text);
                continue;
            }

            var type = current.GetType();
            if (!type.IsValueType && !seen.Add(current))
            {
                continue;
            }

            if (current is Array array)
            {
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        pending.Push(item);
                    }
                }

                continue;
            }

            // The breaker's own state and the collections holding it; not its options, clock, logger or metrics.
            var ns = type.Namespace ?? "";
            var walk = ns.StartsWith("System.Collections", StringComparison.Ordinal) || ns.StartsWith("Pitchly.AspNetCore", StringComparison.Ordinal)
                || type.IsValueType;
            if (!walk || current is PitchlyMetrics || current is TimeProvider)
            {
                continue;
            }

            for (var t = type; t is not null; t = t.BaseType)
            {
                foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.FieldType.IsPrimitive || field.FieldType.IsPointer)
                    {
                        continue;
                    }

                    if (field.GetValue(current) is { } value && (value is string || !value.GetType().IsPrimitive))
                    {
                        pending.Push(value);
                    }
                }
            }
        }

        return found;
    }

    private static Task WriteUnauthenticatedAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("""{"data":null,"errors":[{"message":"You must be signed in","extensions":{"code":"UNAUTHENTICATED"}}]}""");
    }

    private static HttpClient Client(IServiceProvider services) => services.GetRequiredService<IHttpClientFactory>().CreateClient("pitchly");

    private static StringContent Json() => new("""{"query":"{ viewer { person { id } } }"}""", Encoding.UTF8, "application/json");
}

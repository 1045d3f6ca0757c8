using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.Http;

public sealed class AccessTokenHandlerTests
{
    private static readonly PitchlyTokenKey Alice = PitchlyTokenKey.ForUser("org_1", "psn_alice");
    private static readonly PitchlyTokenKey Bob = PitchlyTokenKey.ForUser("org_1", "psn_bob");

    [Theory]
    [InlineData("UNAUTHENTICATED")]
    [InlineData("legacy-data")]
    [InlineData("legacy-extensions")]
    [InlineData("http-401")]
    public async Task An_early_invalidated_token_is_refreshed_once_and_the_request_replayed_once(string style)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.InvalidTokenStyle = style;
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken(_ => Alice));
        using var retries = new MetricCollector<long>(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), PitchlyMetrics.MeterName, "pitchly.http.invalid_token_retries");
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.Invalidate(stored.AccessToken);

        using var response = await Client(services).PostAsync("", Json("""{"query":"{ viewer { person { id } } }"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("psn_alice", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(2, pitchly.GraphQLRequests);
        Assert.Equal(1, retries.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task The_replayed_request_is_byte_identical_but_for_the_token()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken(_ => Alice));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.Invalidate(stored.AccessToken);
        var body = """{"query":"mutation M($v: Int) { m(v: $v) }","variables":{"v":12345678901234567890.10,"s":"\u00e9\"x"},"operationName":"M"}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = new StringContent(body, Encoding.UTF8, "application/json"), Version = HttpVersion.Version11 };
        request.Headers.Add("X-Request-Id", "r-42");
        request.Headers.Add("X-Tenant", ["a", "b"]);

        using var response = await Client(services).SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = pitchly.Seen.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Equal(Encoding.UTF8.GetBytes(body), seen[0].Body);
        Assert.Equal(seen[0].Body, seen[1].Body);
        Assert.Equal(stored.AccessToken, seen[0].Token);
        Assert.NotEqual(seen[0].Token, seen[1].Token);
        foreach (var header in new[] { "X-Request-Id", "X-Tenant", "Content-Type", "Content-Length" })
        {
            Assert.Equal(seen[0].Headers[header], seen[1].Headers[header]);
        }
    }

    [Fact]
    public async Task A_replay_gets_the_whole_body_even_when_the_first_send_read_the_callers_content_as_a_stream()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var reader = new StreamReadingHandler();
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice)
            .AddHttpMessageHandler(() => reader));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.Invalidate(stored.AccessToken);
        var body = """{"query":"{ viewer { person { id } } }","variables":{"n":1}}""";

        using var response = await Client(services).PostAsync("", Json(body), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, pitchly.GraphQLRequests);
        Assert.Equal([body, body], reader.Read);
        Assert.All(pitchly.Seen, seen => Assert.Equal(body, Encoding.UTF8.GetString(seen.Body)));
    }

    [Fact]
    public async Task The_token_variable_is_written_into_the_body_and_replaced_on_replay()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.Placement = PitchlyTokenPlacement.GraphQLVariable));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.Invalidate(stored.AccessToken);
        var body = """{"query":"{ databases(accessToken: $accessToken) { _id } }","variables":{"n":1.0,"l":[true,null]},"operationName":null,"extensions":{"x":1}}""";

        using var response = await Client(services).PostAsync("", Json(body), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = pitchly.Seen.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.All(seen, s => Assert.False(s.Headers.ContainsKey("Authorization")));
        Assert.Equal(stored.AccessToken, seen[0].Token);
        var expectedFirst = body.Replace("\"variables\":{", "\"variables\":{\"accessToken\":\"" + seen[0].Token + "\",", StringComparison.Ordinal);
        Assert.Equal(expectedFirst, Encoding.UTF8.GetString(seen[0].Body));
        Assert.Equal(expectedFirst.Replace(seen[0].Token!, seen[1].Token, StringComparison.Ordinal), Encoding.UTF8.GetString(seen[1].Body));
    }

    [Theory]
    [InlineData("""[{"query":"{ a }"},{"query":"{ b }"}]""", "application/json")]
    [InlineData("""{"query":"{ a }","variables":[1]}""", "application/json")]
    [InlineData("""{"query":"{ a }","variables":{}}""", "text/plain")]
    public async Task A_body_the_token_variable_cannot_be_written_into_is_not_sent_when_the_variable_is_the_only_placement(string body, string mediaType)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.Placement = PitchlyTokenPlacement.GraphQLVariable));
        await TestServices.SignInAsync(services, pitchly, Alice, time);

        var exception = await Assert.ThrowsAsync<PitchlyException>(
            () => Client(services).PostAsync("", new StringContent(body, Encoding.UTF8, mediaType), TestContext.Current.CancellationToken));

        Assert.Contains("accessToken GraphQL variable", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, pitchly.GraphQLRequests);
    }

    [Fact]
    public async Task A_response_whose_body_fails_while_it_is_inspected_is_disposed()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var answer = new FailingResponseHandler();
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.AllowCustomPrimaryHandler = true)
            .ConfigurePrimaryHttpMessageHandler(() => answer));
        await TestServices.SignInAsync(services, pitchly, Alice, time);

        await Assert.ThrowsAsync<IOException>(() => Client(services).PostAsync("", Json("""{"query":"{ a }"}"""), TestContext.Current.CancellationToken));

        Assert.True(answer.Content!.Disposed);
    }

    [Fact]
    public async Task Get_requests_and_non_JSON_bodies_pass_through_untouched()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.Placement = PitchlyTokenPlacement.Both));
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        var client = Client(services);
        var binary = new byte[] { 0, 1, 2, 0xFF, (byte)'{', (byte)'}' };
        var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new("application/octet-stream");

        using var get = await client.GetAsync("?query=%7B%20q%20%7D", TestContext.Current.CancellationToken);
        using var put = await client.PutAsync("", content, TestContext.Current.CancellationToken);
        using var text = await client.PostAsync("", new StringContent("{\"variables\":{}}", Encoding.UTF8, "text/plain"), TestContext.Current.CancellationToken);

        var seen = pitchly.Seen.ToArray();
        Assert.Empty(seen[0].Body);
        Assert.Equal(binary, seen[1].Body);
        Assert.Equal("{\"variables\":{}}", Encoding.UTF8.GetString(seen[2].Body));
        Assert.All(seen, s => Assert.Equal("psn_alice", s.Person));
    }

    [Fact]
    public async Task Two_users_in_parallel_through_one_client_never_receive_each_others_token()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyUserAccessToken());
        var alice = await TestServices.SignInAsync(services, pitchly, Alice, time);
        await TestServices.SignInAsync(services, pitchly, Bob, time);
        var accessor = services.GetRequiredService<IHttpContextAccessor>();
        var client = Client(services);
        pitchly.Invalidate(alice.AccessToken);

        async Task<string[]> CallAsAsync(PitchlyTokenKey user)
        {
            accessor.HttpContext = new DefaultHttpContext { User = Principal(user) };
            var people = new List<string>();
            for (var i = 0; i < 50; i++)
            {
                using var response = await client.PostAsync("", Json("""{"query":"{ viewer { person { id } } }"}"""), TestContext.Current.CancellationToken);
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
                people.Add(document.RootElement.GetProperty("data").GetProperty("viewer").GetProperty("person").GetProperty("id").GetString()!);
            }

            return [.. people];
        }

        var results = await Task.WhenAll(Task.Run(() => CallAsAsync(Alice)), Task.Run(() => CallAsAsync(Bob)));

        Assert.All(results[0], person => Assert.Equal("psn_alice", person));
        Assert.All(results[1], person => Assert.Equal("psn_bob", person));
        var seenTokens = pitchly.Seen.Where(s => s.Person is not null).GroupBy(s => s.Token).ToArray();
        Assert.All(seenTokens, group => Assert.Single(group.Select(s => s.Person).Distinct()));
        Assert.Equal(1, pitchly.RefreshGrants);
    }

    [Fact]
    public async Task A_request_without_a_signed_in_user_requires_sign_in()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var services = TestServices.Create(pitchly, new FakeTimeProvider(TestServices.Start), s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyUserAccessToken());
        services.GetRequiredService<IHttpContextAccessor>().HttpContext = new DefaultHttpContext();

        var exception = await Assert.ThrowsAsync<PitchlySignInRequiredException>(() => Client(services).PostAsync("", Json("{}"), TestContext.Current.CancellationToken));

        Assert.Null(exception.Key);
        Assert.Equal(0, pitchly.GraphQLRequests);
    }

    [Theory]
    [InlineData(200, """{"data":null,"errors":[{"message":"No access","data":{"error":"not-authorized"}}]}""")]
    [InlineData(200, """{"errors":[{"message":"Forbidden","extensions":{"code":"FORBIDDEN"}}],"data":null}""")]
    [InlineData(403, """{"errors":[{"message":"Forbidden"}]}""")]
    [InlineData(200, """{"errors":[{"message":"Bad input","extensions":{"code":"BAD_USER_INPUT","detail":{"code":"UNAUTHENTICATED"}}}],"data":null}""")]
    public async Task Permission_and_other_errors_are_returned_as_they_are_without_a_refresh(int status, string answer)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken(_ => Alice));
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.GraphQLOverride = async (context, _) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/graphql-response+json; charset=utf-8";
            context.Response.Headers["X-Trace"] = "t-1";
            await context.Response.WriteAsync(answer);
        };

        using var response = await Client(services).PostAsync("", Json("""{"query":"mutation { deleteRow }"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(answer, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("application/graphql-response+json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("t-1", response.Headers.GetValues("X-Trace").Single());
        Assert.Equal(0, pitchly.RefreshGrants);
        Assert.Equal(1, pitchly.GraphQLRequests);
    }

    [Fact]
    public async Task A_successful_response_with_data_first_streams_through_without_being_buffered()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken(_ => Alice));
        await TestServices.SignInAsync(services, pitchly, Alice, time);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pitchly.GraphQLOverride = async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"data":{"rows":[""");
            await context.Response.Body.FlushAsync();
            await rest.Task;
            await context.Response.WriteAsync(string.Join(',', Enumerable.Repeat("""{"cols":[{"value":"x"}]}""", 20_000)) + "]}}");
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = Json("""{"query":"{ rows }"}""") };

        // The server holds back everything after the first bytes: a handler that buffered the response would not return.
        using var response = await Client(services).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        rest.SetResult();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));

        Assert.Equal(20_000, document.RootElement.GetProperty("data").GetProperty("rows").GetArrayLength());
        Assert.Equal(0, pitchly.RefreshGrants);
    }

    [Fact]
    public async Task A_body_over_the_buffer_cap_is_sent_once_and_not_replayed()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.MaxRequestBufferSize = 64));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        var body = "{\"query\":\"{ q }\",\"variables\":{\"text\":\"" + new string('x', 1000) + "\"}}";

        using var first = await Client(services).PostAsync("", Json(body), TestContext.Current.CancellationToken);
        pitchly.Invalidate(stored.AccessToken);
        var exception = await Assert.ThrowsAsync<PitchlyException>(() => Client(services).PostAsync("", Json(body), TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(body, Encoding.UTF8.GetString(pitchly.Seen.First().Body));
        Assert.Contains("not replayed", exception.Message, StringComparison.Ordinal);
        Assert.Equal(2, pitchly.GraphQLRequests);
        Assert.Equal(1, pitchly.RefreshGrants);
    }

    [Theory]
    [InlineData("seekable stream")]
    [InlineData("byte array")]
    [InlineData("network-like stream")]
    public async Task An_answer_held_in_memory_is_peeked_in_place_and_a_token_error_in_it_is_still_replayed(string kind)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var answers = new InMemoryAnswers(kind);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.AllowCustomPrimaryHandler = true)
            .ConfigurePrimaryHttpMessageHandler(() => answers));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        answers.RejectedAuthorization = "Bearer " + stored.AccessToken;

        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = Json("""{"query":"{ deals { id } }"}""") };
        using var response = await Client(services).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        Assert.Equal(InMemoryAnswers.Success, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(2, answers.Requests);

        // Content that can seek is read and put back: the caller gets the content the inner handler answered with.
        Assert.Equal(kind != "network-like stream", ReferenceEquals(answers.LastContent, response.Content));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_data_first_answer_handed_on_after_the_peek_keeps_every_content_header(bool moreHeaders)
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var answers = new InMemoryAnswers("network-like stream") { MoreContentHeaders = moreHeaders };
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.AllowCustomPrimaryHandler = true)
            .ConfigurePrimaryHttpMessageHandler(() => answers));
        await TestServices.SignInAsync(services, pitchly, Alice, time);

        using var response = await SendStreamedAsync(services);

        // The content was wrapped (its first bytes were read), and the wrapper carries the same headers as received.
        Assert.NotSame(answers.LastContent, response.Content);
        var expected = answers.LastContent!.Headers.NonValidated.Select(header => $"{header.Key}: {string.Join(", ", header.Value)}").Order(StringComparer.Ordinal);
        var actual = response.Content.Headers.NonValidated.Select(header => $"{header.Key}: {string.Join(", ", header.Value)}").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.Equal(moreHeaders ? 4 : 1, actual.Count());
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(InMemoryAnswers.Success, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task With_no_invalid_token_codes_answers_are_handed_on_unread_and_an_HTTP_200_token_error_is_returned_as_it_is()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var answers = new InMemoryAnswers("network-like stream");
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o =>
            {
                o.AllowCustomPrimaryHandler = true;
                o.InvalidTokenErrorCodes.Clear();
            })
            .ConfigurePrimaryHttpMessageHandler(() => answers));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);

        using (var accepted = await SendStreamedAsync(services))
        {
            // Only the status is judged: the caller gets the inner handler's own content, neither read nor wrapped.
            Assert.Same(answers.LastContent, accepted.Content);
            Assert.Equal(InMemoryAnswers.Success, await accepted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        answers.RejectedAuthorization = "Bearer " + stored.AccessToken;
        using var rejected = await SendStreamedAsync(services);

        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Same(answers.LastContent, rejected.Content);
        Assert.Equal(InMemoryAnswers.Rejected, await rejected.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, pitchly.RefreshGrants);
        Assert.Equal(2, answers.Requests);
    }

    [Fact]
    public async Task With_no_invalid_token_codes_an_HTTP_401_is_still_refreshed_and_replayed()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        pitchly.InvalidTokenStyle = "http-401";
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.InvalidTokenErrorCodes.Clear()));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);
        pitchly.Invalidate(stored.AccessToken);

        using var response = await Client(services).PostAsync("", Json("""{"query":"{ viewer { person { id } } }"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("psn_alice", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(2, pitchly.GraphQLRequests);
        Assert.NotEqual(pitchly.Seen.First().Token, pitchly.Seen.Last().Token);
    }

    [Theory]
    [InlineData("network-like stream", 0)]
    [InlineData("network-like stream", 40)]
    [InlineData("network-like stream", 5000)]
    [InlineData("one byte per read", 0)]
    [InlineData("one byte per read", 40)]
    public async Task An_answer_whose_first_member_lies_beyond_the_first_read_is_still_classified_and_handed_on_unchanged(string kind, int padding)
    {
        // The first read of a stream that cannot seek is small: white space before "data", or a stream that yields a
        // byte at a time, moves the verdict past it. Neither may lose a byte of the answer nor a token error.
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        var answers = new InMemoryAnswers(kind, padding);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint)
            .AddPitchlyAccessToken(_ => Alice, o => o.AllowCustomPrimaryHandler = true)
            .ConfigurePrimaryHttpMessageHandler(() => answers));
        var stored = await TestServices.SignInAsync(services, pitchly, Alice, time);

        using (var accepted = await SendStreamedAsync(services))
        {
            Assert.Equal(answers.SuccessBody, await accepted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            Assert.Equal("application/json; charset=utf-8", accepted.Content.Headers.ContentType!.ToString());
            Assert.Equal(0, pitchly.RefreshGrants);
        }

        answers.RejectedAuthorization = "Bearer " + stored.AccessToken;
        using var replayed = await SendStreamedAsync(services);

        Assert.Equal(answers.SuccessBody, await replayed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, pitchly.RefreshGrants);
        Assert.Equal(3, answers.Requests);
    }

    [Fact]
    public async Task Users_taking_turns_on_one_client_each_send_their_own_token()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var time = new FakeTimeProvider(TestServices.Start);
        await using var services = TestServices.Create(pitchly, time, s => s.AddHttpClient("pitchly", c => c.BaseAddress = pitchly.GraphQLEndpoint).AddPitchlyAccessToken());
        var alice = await TestServices.SignInAsync(services, pitchly, Alice, time);
        var bob = await TestServices.SignInAsync(services, pitchly, Bob, time);
        var client = Client(services);

        foreach (var key in new[] { Alice, Alice, Bob, Alice, Bob, Bob, Alice })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = Json("""{"query":"{ viewer { person { id } } }"}""") };
            request.Options.Set(PitchlyHttpRequestOptions.TokenKey, key);
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(
            [alice.AccessToken, alice.AccessToken, bob.AccessToken, alice.AccessToken, bob.AccessToken, bob.AccessToken, alice.AccessToken],
            pitchly.Seen.Select(seen => seen.Token).ToArray());
    }

    private static HttpClient Client(IServiceProvider services) => services.GetRequiredService<IHttpClientFactory>().CreateClient("pitchly");

    /// <summary>Sends a GraphQL query and returns as soon as the answer's headers are in, as a caller streaming it would.</summary>
    private static Task<HttpResponseMessage> SendStreamedAsync(IServiceProvider services) =>
        Client(services).SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "") { Content = Json("""{"query":"{ deals { id } }"}""") },
            HttpCompletionOption.ResponseHeadersRead,
            TestContext.Current.CancellationToken);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ClaimsPrincipal Principal(PitchlyTokenKey key)
        => new(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, key.PersonId!), new Claim(PitchlyClaimTypes.OrganizationId, key.OrganizationId)], "test"));

    /// <summary>Sits below the Pitchly handler and reads each request's content through ReadAsStreamAsync, as some handlers do.</summary>
    private sealed class StreamReadingHandler : DelegatingHandler
    {
        public List<string> Read { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var text = new StreamReader(await request.Content!.ReadAsStreamAsync(cancellationToken), leaveOpen: true);
            Read.Add(await text.ReadToEndAsync(cancellationToken));
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// Answers from memory, as a test server or a caching handler may: Pitchly's <c>data: null</c> token error to the
    /// rejected Authorization value, else a <c>data</c>-first success; the body in a seekable stream, a byte array, or a
    /// stream that cannot seek (as a network stream).
    /// </summary>
    private sealed class InMemoryAnswers(string kind, int padding = 0) : HttpMessageHandler
    {
        public const string Success = """{"data":{"deals":[{"id":"d1"}]}}""";
        public const string Rejected = """{"data":null,"errors":[{"message":"You must be signed in.","extensions":{"code":"UNAUTHENTICATED"}}]}""";

        /// <summary>Gets the success answer as sent: <see cref="Success"/> with <c>padding</c> spaces before its first member.</summary>
        public string SuccessBody { get; } = Padded(Success, padding);

        public string? RejectedAuthorization { get; set; }

        public int Requests { get; private set; }

        public HttpContent? LastContent { get; private set; }

        /// <summary>Gets or sets whether answers carry content headers besides Content-Type (a language, a disposition and one of the server's own, two values).</summary>
        public bool MoreContentHeaders { get; set; }

        private static string Padded(string answer, int spaces) => "{" + new string(' ', spaces) + answer[1..];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            var body = Encoding.UTF8.GetBytes(request.Headers.Authorization?.ToString() == RejectedAuthorization ? Padded(Rejected, padding) : SuccessBody);
            HttpContent content = kind switch
            {
                "seekable stream" => new StreamContent(new MemoryStream(body)),
                "byte array" => new ByteArrayContent(body),
                "one byte per read" => new StreamContent(new OneBytePerReadStream(body)),
                _ => new StreamContent(new NonSeekableStream(body)),
            };
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            if (MoreContentHeaders)
            {
                content.Headers.TryAddWithoutValidation("Content-Language", "en");
                content.Headers.TryAddWithoutValidation("Content-Disposition", "inline");
                content.Headers.TryAddWithoutValidation("X-Pitchly-Shard", ["s1", "s2"]);
            }

            LastContent = content;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
        }
    }

    private sealed class NonSeekableStream(byte[] body) : MemoryStream(body)
    {
        public override bool CanSeek => false;
    }

    /// <summary>A stream that cannot seek and yields one byte per read, as a connection delivering a byte at a time.</summary>
    private sealed class OneBytePerReadStream(byte[] body) : MemoryStream(body)
    {
        public override bool CanSeek => false;

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(1, buffer.Length)]);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(1, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => base.ReadAsync(buffer, offset, Math.Min(1, count), cancellationToken);
    }

    /// <summary>Answers with a JSON body whose stream fails on the first read, and records whether it was disposed.</summary>
    private sealed class FailingResponseHandler : HttpMessageHandler
    {
        public FailingContent? Content { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Content = new FailingContent();
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = Content });
        }
    }

    private sealed class FailingContent : HttpContent
    {
        public FailingContent() => Headers.ContentType = new("application/json");

        public bool Disposed { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => throw new IOException("The connection was reset (test).");

        protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new FailingStream());

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    private sealed class FailingStream : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => ValueTask.FromException<int>(new IOException("The connection was reset (test)."));
    }
}

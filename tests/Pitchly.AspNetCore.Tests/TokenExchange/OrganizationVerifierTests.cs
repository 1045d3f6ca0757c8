using Pitchly.AspNetCore.Internal.TokenExchange;

namespace Pitchly.AspNetCore.Tests.TokenExchange;

public sealed class OrganizationVerifierTests
{
    [Fact]
    public async Task A_GraphQL_API_that_does_not_answer_in_time_leaves_the_organization_unverified()
    {
        await using var provider = Services(TimeSpan.FromMilliseconds(200), new SilentHandler());

        var organization = await Verifier(provider).GetOrganizationIdAsync("at_test", TestContext.Current.CancellationToken);

        Assert.Null(organization);
    }

    [Fact]
    public async Task The_database_is_sent_as_a_variable_of_the_one_request_that_also_asks_the_organization()
    {
        var handler = new AnsweringHandler("""{"data":{"organization":{"id":"orgA"},"workspace":{"id":"wsp\"1"}}}""");
        await using var provider = Services(TimeSpan.FromSeconds(30), handler);

        var verification = await Verifier(provider).VerifyAsync("at_test", "wsp\"1", TestContext.Current.CancellationToken);

        Assert.Equal(new InstallVerification("orgA", DatabaseConfirmed: true), verification);
        var sent = Assert.Single(handler.Bodies);
        using var body = JsonDocument.Parse(sent);
        var query = body.RootElement.GetProperty("query").GetString()!;
        Assert.Contains("organization { id }", query, StringComparison.Ordinal);
        Assert.Contains("workspace(id: $databaseId) { id }", query, StringComparison.Ordinal);
        Assert.DoesNotContain("wsp\"1", query, StringComparison.Ordinal);
        Assert.Equal("wsp\"1", body.RootElement.GetProperty("variables").GetProperty("databaseId").GetString());
    }

    [Theory]
    [InlineData("""{"data":{"organization":{"id":"orgA"},"workspace":null}}""")]
    [InlineData("""{"data":{"organization":{"id":"orgA"},"workspace":{"id":"wspOther"}}}""")]
    [InlineData("""{"data":{"organization":{"id":"orgA"},"workspace":{"id":"wsp1"}},"errors":[{"message":"Not authorized","extensions":{"code":"FORBIDDEN"}}]}""")]
    [InlineData("""{"data":{"organization":{"id":"orgA"},"workspace":null},"errors":[{"message":"Cannot query field \"workspace\" on type \"Query\"."}]}""")]
    public async Task A_database_Pitchly_does_not_name_cleanly_is_not_confirmed_while_the_organization_still_is(string answer)
    {
        await using var provider = Services(TimeSpan.FromSeconds(30), new AnsweringHandler(answer));

        var verification = await Verifier(provider).VerifyAsync("at_test", "wsp1", TestContext.Current.CancellationToken);

        Assert.Equal(new InstallVerification("orgA", DatabaseConfirmed: false), verification);
    }

    [Fact]
    public async Task An_answer_without_data_verifies_nothing()
    {
        var answer = """{"data":null,"errors":[{"message":"Unauthenticated","extensions":{"code":"UNAUTHENTICATED"}}]}""";
        await using var provider = Services(TimeSpan.FromSeconds(30), new AnsweringHandler(answer));

        Assert.Null(await Verifier(provider).VerifyAsync("at_test", "wsp1", TestContext.Current.CancellationToken));
    }

    private static ServiceProvider Services(TimeSpan timeout, HttpMessageHandler handler)
    {
        var services = new ServiceCollection();
        services.AddHttpClient(PitchlyTokenExchangeHandler.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = timeout)
            .ConfigurePrimaryHttpMessageHandler(() => handler);
        services.AddOptions<PitchlyGraphQLClientOptions>();
        return services.BuildServiceProvider();
    }

    private static OrganizationVerifier Verifier(ServiceProvider provider) => new(
        provider.GetRequiredService<IHttpClientFactory>(),
        provider.GetRequiredService<IOptionsMonitor<PitchlyGraphQLClientOptions>>());

    /// <summary>Never answers: waits until the request is cancelled.</summary>
    private sealed class SilentHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("Unreachable: the delay only ends by cancellation.");
        }
    }

    /// <summary>Records each request body and answers HTTP 200 with a fixed GraphQL answer, as Pitchly answers errors too.</summary>
    private sealed class AnsweringHandler(string answer) : HttpMessageHandler
    {
        public ConcurrentQueue<string> Bodies { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Bodies.Enqueue(await request.Content!.ReadAsStringAsync(cancellationToken));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer, Encoding.UTF8, "application/json") };
        }
    }
}

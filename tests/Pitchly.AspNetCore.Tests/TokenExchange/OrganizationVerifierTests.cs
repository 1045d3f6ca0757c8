using Pitchly.AspNetCore.Internal.TokenExchange;

namespace Pitchly.AspNetCore.Tests.TokenExchange;

public sealed class OrganizationVerifierTests
{
    [Fact]
    public async Task A_GraphQL_API_that_does_not_answer_in_time_leaves_the_organization_unverified()
    {
        var services = new ServiceCollection();
        services.AddHttpClient(PitchlyTokenExchangeHandler.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = TimeSpan.FromMilliseconds(200))
            .ConfigurePrimaryHttpMessageHandler(() => new SilentHandler());
        services.AddOptions<PitchlyGraphQLClientOptions>();
        await using var provider = services.BuildServiceProvider();
        var verifier = new OrganizationVerifier(
            provider.GetRequiredService<IHttpClientFactory>(),
            provider.GetRequiredService<IOptionsMonitor<PitchlyGraphQLClientOptions>>());

        var organization = await verifier.GetOrganizationIdAsync("at_test", TestContext.Current.CancellationToken);

        Assert.Null(organization);
    }

    /// <summary>Never answers: waits until the request is cancelled.</summary>
    private sealed class SilentHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("Unreachable: the delay only ends by cancellation.");
        }
    }
}

using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Tests.Authentication;

/// <summary>The token and GraphQL endpoints of token management and of the typed client follow sign-in's https rule.</summary>
public sealed class EndpointSchemeTests
{
    [Fact]
    public void A_plain_http_token_endpoint_off_loopback_is_refused_outside_Development()
    {
        using var host = Build(Environments.Production, tokenEndpoint: "http://pitchly.example.com/api/oauth/token");

        var exception = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value);

        var failure = Assert.Single(exception.Failures);
        Assert.Contains("Pitchly:TokenEndpoint 'http://pitchly.example.com/api/oauth/token' uses http. Outside the Development environment Pitchly endpoints must use https", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_http_GraphQL_endpoint_off_loopback_is_refused_outside_Development()
    {
        using var host = Build(Environments.Staging, graphQLEndpoint: "http://api.pitchly.example.com/graphql");

        var exception = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value);

        var failure = Assert.Single(exception.Failures);
        Assert.Contains("Pitchly:GraphQLEndpoint 'http://api.pitchly.example.com/graphql' uses http. Outside the Development environment Pitchly endpoints must use https", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_with_a_plain_http_token_endpoint_does_not_start_in_Production()
    {
        using var host = Build(Environments.Production, tokenEndpoint: "http://pitchly.example.com/api/oauth/token");

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(exception.Failures, failure => failure.Contains("Pitchly:TokenEndpoint", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Production", "http://127.0.0.1:5123")]
    [InlineData("Production", "http://localhost:5123")]
    [InlineData("Production", "http://[::1]:5123")]
    [InlineData("Development", "http://pitchly.internal:8080")]
    [InlineData("Production", "https://pitchly.example.com")]
    public void Https_loopback_http_and_any_http_in_Development_are_accepted(string environment, string origin)
    {
        using var host = Build(environment, tokenEndpoint: $"{origin}/api/oauth/token", graphQLEndpoint: $"{origin}/graphql");

        Assert.Equal($"{origin}/api/oauth/token", host.Services.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value.TokenEndpoint);
        Assert.Equal(new Uri($"{origin}/graphql"), host.Services.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value.Endpoint);
    }

    private static IHost Build(string environment, string? tokenEndpoint = null, string? graphQLEndpoint = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });
        builder.Logging.ClearProviders();
        builder.Configuration["Pitchly:ClientId"] = "app0000000000000000a";
        builder.Configuration["Pitchly:ClientSecret"] = "plys_secret-value-for-endpoint-tests-000000000000";
        if (tokenEndpoint is not null)
        {
            builder.Configuration["Pitchly:TokenEndpoint"] = tokenEndpoint;
        }

        if (graphQLEndpoint is not null)
        {
            builder.Configuration["Pitchly:GraphQLEndpoint"] = graphQLEndpoint;
        }

        builder.Services.AddPitchlyTokenManagement();
        builder.Services.AddPitchlyGraphQLClient();
        return builder.Build();
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace Pitchly.AspNetCore.Tests.Subscriptions;

public sealed class SubscriptionOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> configuration, string environment = "Production", Action<PitchlySubscriptionClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = environment });
        if (configure is null)
        {
            services.AddPitchlySubscriptionClient();
        }
        else
        {
            services.AddPitchlySubscriptionClient(configure);
        }

        return services.BuildServiceProvider();
    }

    private static PitchlySubscriptionClientOptions Options(ServiceProvider services) => services.GetRequiredService<IOptions<PitchlySubscriptionClientOptions>>().Value;

    [Theory]
    [InlineData(null, "wss://api.pitchly.com/subscriptions")]
    [InlineData("https://v2.pitchly.net/graphql", "wss://v2.pitchly.net/subscriptions")]
    [InlineData("http://127.0.0.1:5080/graphql", "ws://127.0.0.1:5080/subscriptions")]
    [InlineData("https://example.com:8443/api/graphql?x=1", "wss://example.com:8443/api/subscriptions")]
    public void The_endpoint_is_derived_from_the_GraphQL_endpoint_when_not_set(string? graphQL, string expected)
    {
        using var services = Build(new() { ["Pitchly:GraphQLEndpoint"] = graphQL });

        Assert.Equal(new Uri(expected), Options(services).Endpoint);
    }

    [Fact]
    public void Settings_are_bound_from_the_subscriptions_section_and_code_wins()
    {
        using var services = Build(
            new()
            {
                ["Pitchly:Subscriptions:Endpoint"] = "wss://realtime.example.com/ws",
                ["Pitchly:Subscriptions:MaxReconnectAttempts"] = "4",
                ["Pitchly:Subscriptions:ReconnectDelay"] = "00:00:02",
                ["Pitchly:Subscriptions:KeepAliveInterval"] = "00:00:00",
            },
            configure: o => o.MaxMessageSize = 4096);

        var options = Options(services);
        Assert.Equal(new Uri("wss://realtime.example.com/ws"), options.Endpoint);
        Assert.Equal(4, options.MaxReconnectAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), options.ReconnectDelay);
        Assert.Equal(TimeSpan.Zero, options.KeepAliveInterval);
        Assert.Equal(4096, options.MaxMessageSize);
    }

    [Theory]
    [InlineData("Pitchly:Subscriptions:Endpoint", "ws://realtime.example.com/subscriptions", "uses ws")]
    [InlineData("Pitchly:GraphQLEndpoint", "http://api.example.com/graphql", "Pitchly:GraphQLEndpoint 'http://api.example.com/graphql' uses http")]
    [InlineData("Pitchly:Subscriptions:Endpoint", "https://api.pitchly.com/subscriptions", "ws(s) URL")]
    [InlineData("Pitchly:Subscriptions:MaxReconnectAttempts", "-1", "MaxReconnectAttempts")]
    [InlineData("Pitchly:Subscriptions:ConnectionTimeout", "00:00:00", "ConnectionTimeout")]
    [InlineData("Pitchly:Subscriptions:MaxMessageSize", "0", "MaxMessageSize")]
    [InlineData("Pitchly:Subscriptions:MaxReconnectDelay", "00:00:00.5", "MaxReconnectDelay")]
    public void Invalid_settings_are_refused_at_start_up_with_the_key_to_fix(string key, string value, string expected)
    {
        using var services = Build(new() { [key] = value });

        var thrown = Assert.Throws<OptionsValidationException>(() => Options(services));

        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
        Assert.Contains(key, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_ws_to_another_host_is_accepted_in_Development()
    {
        using var services = Build(new() { ["Pitchly:Subscriptions:Endpoint"] = "ws://devbox.local:5080/subscriptions" }, Environments.Development);

        Assert.Equal("ws", Options(services).Endpoint!.Scheme);
    }

    [Fact]
    public void A_relative_endpoint_is_refused_with_the_key_to_fix()
    {
        using var services = Build(new() { ["Pitchly:Subscriptions:Endpoint"] = "/subscriptions" });

        var thrown = Assert.Throws<OptionsValidationException>(() => Options(services));

        Assert.Contains("Pitchly:Subscriptions:Endpoint", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registering_twice_adds_one_client()
    {
        var services = new ServiceCollection();
        services.AddPitchlySubscriptionClient();
        services.AddPitchlySubscriptionClient();

        Assert.Single(services, d => d.ServiceType == typeof(IPitchlySubscriptionClient));
    }
}

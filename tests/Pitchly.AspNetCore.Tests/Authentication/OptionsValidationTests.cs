using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class OptionsValidationTests
{
    private const string Secret = "plys_secret-value-that-must-never-leak-000000000000";

    private static void Valid(PitchlyAuthenticationOptions options)
    {
        options.ClientId = "app0000000000000000a";
        options.ClientSecret = Secret;
    }

    [Fact]
    public void Valid_options_pass()
    {
        var options = Resolve(Valid);

        Assert.Equal("app0000000000000000a", options.ClientId);
        Assert.True(options.UsePkce);
        Assert.False(options.SaveTokens);
        Assert.Equal("/signin-pitchly", options.CallbackPath);
        Assert.Equal(PitchlyAuthenticationDefaults.AuthorizationEndpoint, options.AuthorizationEndpoint);
        Assert.Equal(PitchlyAuthenticationDefaults.TokenEndpoint, options.TokenEndpoint);
        Assert.Equal(PitchlyAuthenticationDefaults.GraphQLEndpoint, options.GraphQLEndpoint);
    }

    public static TheoryData<string, string> Mistakes => new()
    {
        { "missing ClientId", "ClientId is missing. Set Pitchly:ClientId (or ClientId in AddPitchly) to your app's App ID." },
        { "missing ClientSecret", "ClientSecret is missing. Set Pitchly:ClientSecret" },
        { "secret as ClientId", "ClientId starts with 'plys_', so it is an App Secret, not an App ID. Put the App ID in Pitchly:ClientId and the App Secret in Pitchly:ClientSecret." },
        { "ClientId equals ClientSecret", "ClientId and ClientSecret are the same value." },
        { "http token endpoint", "TokenEndpoint 'http://pitchly.example.com/api/oauth/token' uses http. Outside the Development environment Pitchly endpoints must use https" },
        { "relative authorization endpoint", "AuthorizationEndpoint '/oauth/authorize' is not an absolute https URI. Set Pitchly:AuthorizationEndpoint" },
        { "missing GraphQL endpoint", "GraphQLEndpoint is missing. Set Pitchly:GraphQLEndpoint" },
        { "SaveTokens", "SaveTokens must be false. Pitchly's refresh tokens rotate and are single-use" },
        { "zero default lifetime", "DefaultAccessTokenLifetime must be positive" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_configuration_mistake_is_reported_with_what_to_fix_and_without_the_secret(string mistake, string expected)
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Resolve(options =>
        {
            Valid(options);
            Break(options, mistake);
        }));

        var failure = Assert.Single(exception.Failures);
        Assert.StartsWith("Pitchly authentication scheme 'Pitchly': ", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_mistake_is_reported_at_once()
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Resolve(options =>
        {
            options.TokenEndpoint = "ftp://pitchly.example.com/token";
            options.SaveTokens = true;
        }));

        Assert.Equal(4, exception.Failures.Count());
    }

    [Theory]
    [InlineData("http://127.0.0.1:5123/api/oauth/token")]
    [InlineData("http://localhost:5123/api/oauth/token")]
    [InlineData("http://[::1]:5123/api/oauth/token")]
    public void Loopback_http_endpoints_are_accepted_in_every_environment(string endpoint)
    {
        var options = Resolve(options =>
        {
            Valid(options);
            options.TokenEndpoint = endpoint;
        });

        Assert.Equal(endpoint, options.TokenEndpoint);
    }

    [Fact]
    public void Non_loopback_http_endpoints_are_accepted_in_Development_only()
    {
        const string Endpoint = "http://pitchly.internal:8080/api/oauth/token";

        var options = Resolve(options =>
        {
            Valid(options);
            options.TokenEndpoint = Endpoint;
        }, environmentName: Environments.Development);

        Assert.Equal(Endpoint, options.TokenEndpoint);
    }

    [Fact]
    public async Task Validation_runs_when_the_host_starts()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication().AddPitchly(options => options.ClientSecret = Secret);
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal("Pitchly authentication scheme 'Pitchly': ClientId is missing. Set Pitchly:ClientId (or ClientId in AddPitchly) to your app's App ID.", Assert.Single(exception.Failures));
    }

    private static void Break(PitchlyAuthenticationOptions options, string mistake)
    {
        switch (mistake)
        {
            case "missing ClientId": options.ClientId = ""; break;
            case "missing ClientSecret": options.ClientSecret = null!; break;
            case "secret as ClientId": options.ClientId = "plys_" + new string('x', 43); break;
            case "ClientId equals ClientSecret": options.ClientId = options.ClientSecret = "app0000000000000000a"; break;
            case "http token endpoint": options.TokenEndpoint = "http://pitchly.example.com/api/oauth/token"; break;
            case "relative authorization endpoint": options.AuthorizationEndpoint = "/oauth/authorize"; break;
            case "missing GraphQL endpoint": options.GraphQLEndpoint = " "; break;
            case "SaveTokens": options.SaveTokens = true; break;
            case "zero default lifetime": options.DefaultAccessTokenLifetime = TimeSpan.Zero; break;
            default: throw new ArgumentOutOfRangeException(nameof(mistake), mistake, null);
        }
    }

    private static PitchlyAuthenticationOptions Resolve(Action<PitchlyAuthenticationOptions> configure, string environmentName = "Production")
    {
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new TestEnvironment(environmentName));
        services.AddLogging();
        services.AddAuthentication().AddPitchly(configure);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get(PitchlyAuthenticationDefaults.AuthenticationScheme);
    }

    private sealed class TestEnvironment(string environmentName) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = environmentName;

        public string ApplicationName { get; set; } = "Tests";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}

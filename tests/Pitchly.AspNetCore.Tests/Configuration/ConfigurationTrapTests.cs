namespace Pitchly.AspNetCore.Tests.Configuration;

/// <summary>
/// Settings shared between sign-in, token management and the clients are taken from where sign-in takes them, and a
/// contradiction stops the start naming the settings, instead of failing the first refresh an hour later.
/// </summary>
public sealed class ConfigurationTrapTests
{
    private const string AppId = "app0000000000000000a";
    private const string Secret = "plys_code-secret-000000000000000000000000000000";

    [Fact]
    public void A_scheme_of_another_name_with_credentials_in_code_gives_them_to_token_management()
    {
        using var provider = Build([], auth => auth.AddPitchly("AnotherScheme", o =>
        {
            o.ClientId = AppId;
            o.ClientSecret = Secret;
            o.TokenEndpoint = "https://staging.pitchly.example/api/oauth/token";
        }));

        var options = provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal(AppId, options.ClientId);
        Assert.Equal(Secret, options.ClientSecret);
        Assert.Equal("https://staging.pitchly.example/api/oauth/token", options.TokenEndpoint);
    }

    [Fact]
    public void Credentials_set_in_code_on_the_scheme_win_over_the_Pitchly_section_for_refreshes_too()
    {
        using var provider = Build(
            new() { ["Pitchly:ClientId"] = "app000000000000000zz", ["Pitchly:ClientSecret"] = "plys_config-secret-0000000000000000000000000000" },
            auth => auth.AddPitchly("AnotherScheme", o => { o.ClientId = AppId; o.ClientSecret = Secret; }));

        var options = provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal(AppId, options.ClientId);
        Assert.Equal(Secret, options.ClientSecret);
    }

    [Fact]
    public void Two_Pitchly_schemes_need_the_one_that_refreshes_named_and_the_start_fails_naming_both_otherwise()
    {
        void AddTwo(AuthenticationBuilder auth) => auth
            .AddPitchly("PitchlyEu", o => { o.ClientId = AppId; o.ClientSecret = Secret; })
            .AddPitchly("PitchlyUs", o => { o.ClientId = "app000000000000000bb"; o.ClientSecret = Secret; });

        using var ambiguous = Build([], AddTwo);
        var thrown = Assert.Throws<OptionsValidationException>(() => ambiguous.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value);
        Assert.Contains("'PitchlyEu', 'PitchlyUs'", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("Pitchly:TokenManagement:AuthenticationScheme", thrown.Message, StringComparison.Ordinal);

        using var named = Build(new() { ["Pitchly:TokenManagement:AuthenticationScheme"] = "PitchlyUs" }, AddTwo);
        Assert.Equal("app000000000000000bb", named.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value.ClientId);
    }

    [Fact]
    public void A_token_management_scheme_that_is_not_a_Pitchly_scheme_stops_the_start_naming_it()
    {
        using var provider = Build(
            new() { ["Pitchly:TokenManagement:AuthenticationScheme"] = "Pitchly" },
            auth => auth.AddPitchly("AnotherScheme", o => { o.ClientId = AppId; o.ClientSecret = Secret; }));

        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value);

        Assert.Contains("'Pitchly'", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("'AnotherScheme'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sign_in_scope_never_reaches_refreshes_and_the_token_management_scope_does()
    {
        using var signInOnly = Build(new() { ["Pitchly:ClientId"] = AppId, ["Pitchly:ClientSecret"] = Secret, ["Pitchly:Scope"] = "read" }, auth => auth.AddPitchly());
        Assert.Null(signInOnly.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value.Scope);

        using var both = Build(
            new() { ["Pitchly:ClientId"] = AppId, ["Pitchly:ClientSecret"] = Secret, ["Pitchly:Scope"] = "read", ["Pitchly:TokenManagement:Scope"] = "deals:read" },
            auth => auth.AddPitchly());
        Assert.Equal("deals:read", both.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value.Scope);
    }

    [Fact]
    public void Only_the_shared_keys_of_the_Pitchly_section_reach_token_management_without_sign_in()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pitchly:ClientId"] = AppId,
            ["Pitchly:ClientSecret"] = Secret,
            ["Pitchly:TokenEndpoint"] = "http://127.0.0.1:5100/api/oauth/token",
            ["Pitchly:Scope"] = "read",
            ["Pitchly:RefreshTimeout"] = "00:00:03",
        }).Build());
        services.AddPitchlyTokenManagement();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal(AppId, options.ClientId);
        Assert.Equal(Secret, options.ClientSecret);
        Assert.Equal("http://127.0.0.1:5100/api/oauth/token", options.TokenEndpoint);
        Assert.Null(options.Scope);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RefreshTimeout);
    }

    [Fact]
    public void A_GraphQL_endpoint_set_in_code_on_the_scheme_reaches_the_GraphQL_and_subscription_clients()
    {
        using var provider = Build([], auth =>
        {
            auth.AddPitchly("AnotherScheme", o => { o.ClientId = AppId; o.ClientSecret = Secret; o.GraphQLEndpoint = "https://eu.pitchly.example/graphql"; });
            auth.Services.AddPitchlyGraphQLClient();
            auth.Services.AddPitchlySubscriptionClient();
        });

        Assert.Equal(new Uri("https://eu.pitchly.example/graphql"), provider.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value.Endpoint);
        Assert.Equal(new Uri("wss://eu.pitchly.example/subscriptions"), provider.GetRequiredService<IOptions<PitchlySubscriptionClientOptions>>().Value.Endpoint);
    }

    [Fact]
    public void The_GraphQL_client_key_alone_is_used_by_sign_in_too()
    {
        using var provider = Build(
            new() { ["Pitchly:ClientId"] = AppId, ["Pitchly:ClientSecret"] = Secret, ["Pitchly:GraphQL:Endpoint"] = "https://eu.pitchly.example/graphql" },
            auth => auth.AddPitchly().Services.AddPitchlyGraphQLClient());

        Assert.Equal("https://eu.pitchly.example/graphql", provider.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get("Pitchly").GraphQLEndpoint);
        Assert.Equal(new Uri("https://eu.pitchly.example/graphql"), provider.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value.Endpoint);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Two_GraphQL_endpoints_that_disagree_stop_the_start_naming_both(bool withSignIn)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Pitchly:ClientId"] = AppId,
            ["Pitchly:ClientSecret"] = Secret,
            ["Pitchly:GraphQLEndpoint"] = "https://api.pitchly.example/graphql",
            ["Pitchly:GraphQL:Endpoint"] = "https://other.pitchly.example/graphql",
        };
        using var provider = Build(configuration, auth =>
        {
            if (withSignIn)
            {
                auth.AddPitchly();
            }

            auth.Services.AddPitchlyGraphQLClient();
        });

        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value);

        Assert.Contains("https://api.pitchly.example/graphql", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("https://other.pitchly.example/graphql", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("Pitchly:GraphQL:Endpoint", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_GraphQL_endpoint_keys_that_agree_are_accepted()
    {
        using var provider = Build(
            new() { ["Pitchly:GraphQLEndpoint"] = "https://api.pitchly.example/graphql", ["Pitchly:GraphQL:Endpoint"] = "https://api.pitchly.example/graphql" },
            auth => auth.Services.AddPitchlyGraphQLClient());

        Assert.Equal(new Uri("https://api.pitchly.example/graphql"), provider.GetRequiredService<IOptions<PitchlyGraphQLClientOptions>>().Value.Endpoint);
    }

    [Fact]
    public void Timeouts_left_at_their_defaults_follow_a_longer_token_request_timeout()
    {
        using var derived = Build(new() { ["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:01:00" }, _ => { });
        var options = derived.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(75), options.FenceTimeout);
        Assert.Equal(TimeSpan.FromSeconds(75), options.StoreWriteRetryTimeout);

        using var untouched = Build([], _ => { });
        var defaults = untouched.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(45), defaults.FenceTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), defaults.StoreWriteRetryTimeout);

        // A fence set explicitly is the user's: it is checked, never moved.
        using var explicitFence = Build(new() { ["Pitchly:TokenManagement:TokenRequestTimeout"] = "00:01:00", ["Pitchly:TokenManagement:FenceTimeout"] = "00:00:50" }, _ => { });
        var thrown = Assert.Throws<OptionsValidationException>(() => explicitFence.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value);
        Assert.Contains("FenceTimeout", thrown.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> configuration, Action<AuthenticationBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddLogging();
        var authentication = services.AddAuthentication();
        services.AddPitchlyTokenManagement();
        configure(authentication);
        return services.BuildServiceProvider();
    }
}

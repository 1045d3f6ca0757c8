namespace Pitchly.AspNetCore.Tests.Authentication;

public sealed class ConfigurationTests
{
    private static readonly Dictionary<string, string?> PitchlySection = new()
    {
        ["Pitchly:ClientId"] = "app0000000000000000a",
        ["Pitchly:ClientSecret"] = "plys_configured-secret-00000000000000000000000000",
        ["Pitchly:AuthorizationEndpoint"] = "http://127.0.0.1:5100/oauth/authorize",
        ["Pitchly:TokenEndpoint"] = "http://127.0.0.1:5100/api/oauth/token",
        ["Pitchly:GraphQLEndpoint"] = "http://127.0.0.1:5100/graphql",
        ["Pitchly:CallbackPath"] = "/auth/pitchly",
    };

    [Fact]
    public void Options_are_bound_from_the_Pitchly_section()
    {
        using var provider = Build(PitchlySection, builder => builder.AddPitchly());

        var options = provider.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get("Pitchly");

        Assert.Equal("app0000000000000000a", options.ClientId);
        Assert.Equal("plys_configured-secret-00000000000000000000000000", options.ClientSecret);
        Assert.Equal("http://127.0.0.1:5100/oauth/authorize", options.AuthorizationEndpoint);
        Assert.Equal("http://127.0.0.1:5100/api/oauth/token", options.TokenEndpoint);
        Assert.Equal("http://127.0.0.1:5100/graphql", options.GraphQLEndpoint);
        Assert.Equal(new PathString("/auth/pitchly"), options.CallbackPath);
    }

    [Fact]
    public void Code_configuration_runs_after_binding()
    {
        using var provider = Build(PitchlySection, builder => builder.AddPitchly(options => options.ClientId = "app000000000000000bb"));

        var options = provider.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get("Pitchly");

        Assert.Equal("app000000000000000bb", options.ClientId);
        Assert.Equal("http://127.0.0.1:5100/graphql", options.GraphQLEndpoint);
    }

    [Fact]
    public async Task A_custom_scheme_and_display_name_are_registered()
    {
        using var provider = Build(PitchlySection, builder => builder.AddPitchly("PitchlyStaging", "Pitchly (staging)", _ => { }));

        var scheme = await provider.GetRequiredService<IAuthenticationSchemeProvider>().GetSchemeAsync("PitchlyStaging");

        Assert.NotNull(scheme);
        Assert.Equal("Pitchly (staging)", scheme.DisplayName);
        Assert.Equal(typeof(PitchlyAuthenticationHandler), scheme.HandlerType);
        Assert.Equal("app0000000000000000a", provider.GetRequiredService<IOptionsMonitor<PitchlyAuthenticationOptions>>().Get("PitchlyStaging").ClientId);
    }

    [Fact]
    public void Token_management_takes_the_client_credentials_of_its_scheme_when_it_has_none()
    {
        using var provider = Build([], builder => builder.AddPitchly("PitchlyStaging", options =>
        {
            options.ClientId = "app0000000000000000a";
            options.ClientSecret = "plys_code-secret-000000000000000000000000000000";
            options.TokenEndpoint = "https://staging.pitchly.example/api/oauth/token";
        }), tokenManagement => tokenManagement.AuthenticationScheme = "PitchlyStaging");

        var options = provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal("app0000000000000000a", options.ClientId);
        Assert.Equal("plys_code-secret-000000000000000000000000000000", options.ClientSecret);
        Assert.Equal("https://staging.pitchly.example/api/oauth/token", options.TokenEndpoint);
    }

    [Fact]
    public void Token_management_credentials_of_another_app_than_the_sign_in_scheme_stop_the_start_naming_both()
    {
        using var provider = Build(PitchlySection, builder => builder.AddPitchly(), tokenManagement =>
        {
            tokenManagement.ClientId = "app000000000000000cc";
            tokenManagement.ClientSecret = "plys_worker-secret-0000000000000000000000000000";
        });

        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value);

        Assert.Contains("'Pitchly'", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("app000000000000000cc", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("app0000000000000000a", thrown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("plys_", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_sign_in_token_management_keeps_its_own_client_credentials()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(PitchlySection).Build());
        services.AddPitchlyTokenManagement(tokenManagement =>
        {
            tokenManagement.ClientId = "app000000000000000cc";
            tokenManagement.ClientSecret = "plys_worker-secret-0000000000000000000000000000";
            tokenManagement.TokenEndpoint = "https://worker.pitchly.example/api/oauth/token";
        });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PitchlyTokenManagementOptions>>().Value;

        Assert.Equal("app000000000000000cc", options.ClientId);
        Assert.Equal("plys_worker-secret-0000000000000000000000000000", options.ClientSecret);
        Assert.Equal("https://worker.pitchly.example/api/oauth/token", options.TokenEndpoint);
    }

    [Fact]
    public void AddPitchly_registers_the_token_store()
    {
        using var provider = Build(PitchlySection, builder => builder.AddPitchly());

        Assert.NotNull(provider.GetService<IPitchlyTokenStore>());
    }

    private static ServiceProvider Build(
        Dictionary<string, string?> configuration,
        Action<AuthenticationBuilder> addPitchly,
        Action<PitchlyTokenManagementOptions>? configureTokenManagement = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddLogging();
        addPitchly(services.AddAuthentication());
        if (configureTokenManagement is not null)
        {
            services.Configure(configureTokenManagement);
        }

        return services.BuildServiceProvider();
    }
}

using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Tests.Http;

public sealed class AccessTokenHandlerConfigurationTests
{
    private const string Client = "pitchly";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_setting_is_read_from_the_Pitchly_AccessToken_section()
    {
        using var services = Build(new()
        {
            ["Pitchly:AccessToken:Placement"] = "GraphQLVariable",
            ["Pitchly:AccessToken:MaxRequestBufferSize"] = "2048",
            ["Pitchly:AccessToken:MaxResponseInspectionSize"] = "4096",
            ["Pitchly:AccessToken:InvalidTokenErrorCodes:0"] = "token-invalid",
            ["Pitchly:AccessToken:InvalidTokenErrorCodes:1"] = "token-expired",
        });

        var options = services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client);

        Assert.Equal(PitchlyTokenPlacement.GraphQLVariable, options.Placement);
        Assert.Equal(2048, options.MaxRequestBufferSize);
        Assert.Equal(4096, options.MaxResponseInspectionSize);
        Assert.Equal(["token-expired", "token-invalid"], options.InvalidTokenErrorCodes.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Both", PitchlyTokenPlacement.Both)]
    [InlineData("AuthorizationHeader, GraphQLVariable", PitchlyTokenPlacement.Both)]
    [InlineData("authorizationheader", PitchlyTokenPlacement.AuthorizationHeader)]
    public void Placements_are_read_by_name_and_as_flag_lists(string configured, PitchlyTokenPlacement expected)
    {
        using var services = Build(new() { ["Pitchly:AccessToken:Placement"] = configured });

        Assert.Equal(expected, services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client).Placement);
    }

    [Fact]
    public void Without_the_section_the_defaults_stay_and_codes_can_be_given_as_one_list()
    {
        using var defaults = Build([]);
        using var listed = Build(new() { ["Pitchly:AccessToken:InvalidTokenErrorCodes"] = "UNAUTHENTICATED, token-invalid, expired" });

        var options = defaults.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client);
        Assert.Equal(PitchlyTokenPlacement.AuthorizationHeader, options.Placement);
        Assert.Equal(1024 * 1024, options.MaxRequestBufferSize);
        Assert.Equal(["UNAUTHENTICATED", "token-invalid"], options.InvalidTokenErrorCodes.Order(StringComparer.Ordinal));
        Assert.Equal(
            ["UNAUTHENTICATED", "expired", "token-invalid"],
            listed.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client).InvalidTokenErrorCodes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_list_of_no_codes_clears_them_so_only_HTTP_401_counts()
    {
        using var services = Build(new() { ["Pitchly:AccessToken:InvalidTokenErrorCodes"] = "," });

        Assert.Empty(services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client).InvalidTokenErrorCodes);
    }

    [Fact]
    public void Code_configuration_wins_over_the_section()
    {
        using var services = Build(
            new() { ["Pitchly:AccessToken:Placement"] = "GraphQLVariable", ["Pitchly:AccessToken:MaxRequestBufferSize"] = "2048" },
            o => o.Placement = PitchlyTokenPlacement.Both);

        var options = services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client);

        Assert.Equal(PitchlyTokenPlacement.Both, options.Placement);
        Assert.Equal(2048, options.MaxRequestBufferSize);
    }

    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "Placement", "Bearer", "Pitchly:AccessToken:Placement must be AuthorizationHeader (current platform), GraphQLVariable (legacy API) or Both; it is 'Bearer'." },
        { "Placement", "3", "Pitchly:AccessToken:Placement must be AuthorizationHeader" },
        { "Placement", "None", "Pitchly:AccessToken:Placement must be AuthorizationHeader (current platform), GraphQLVariable (legacy API) or Both; it is None." },
        { "MaxRequestBufferSize", "1MB", "Pitchly:AccessToken:MaxRequestBufferSize must be a whole number of bytes such as 1048576; it is '1MB'." },
        { "MaxRequestBufferSize", "-1", "Pitchly:AccessToken:MaxRequestBufferSize must be zero (never replay) or a positive number of bytes; it is -1." },
        { "MaxResponseInspectionSize", "0", "Pitchly:AccessToken:MaxResponseInspectionSize must be a positive number of bytes; it is 0." },
        { "InvalidTokenErrorCodes:0", " ", "Pitchly:AccessToken:InvalidTokenErrorCodes must not contain an empty code" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task A_bad_value_stops_the_start_with_a_message_naming_its_key(string key, string value, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"Pitchly:AccessToken:{key}"] = value });
        builder.Services.AddHttpClient(Client).AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId);
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancellation));

        Assert.Contains(exception.Failures, failure => failure.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_configured_for_the_legacy_API_by_configuration_alone_sends_the_token_as_a_variable_and_refreshes_on_token_invalid()
    {
        await using var pitchly = await PitchlyEmulatorServer.StartAsync(o => o.ErrorStyle = PitchlyEmulatorErrorStyle.Legacy, Cancellation);
        var configuration = new Dictionary<string, string?>(pitchly.ClientConfiguration.Select(pair => KeyValuePair.Create(pair.Key, (string?)pair.Value)))
        {
            ["Pitchly:AccessToken:Placement"] = "GraphQLVariable",
        };
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddLogging();
        services.AddPitchlyGraphQLClient(http => http.AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId));
        await using var provider = services.BuildServiceProvider();
        var graphQL = provider.GetRequiredService<IPitchlyGraphQLClient>();
        var query = new PitchlyGraphQLRequest(
            "query Databases($organizationId: ID!) { databases(organizationId: $organizationId) { _id } }",
            new Dictionary<string, object?> { ["organizationId"] = PitchlyEmulatorDefaults.AcmeOrganizationId });

        (await graphQL.SendAsync<System.Text.Json.Nodes.JsonObject>(query, Cancellation)).GetDataOrThrow();
        pitchly.Emulator.InvalidateAccessTokens();
        var data = (await graphQL.SendAsync<System.Text.Json.Nodes.JsonObject>(query, Cancellation)).GetDataOrThrow();

        Assert.NotEmpty(data["databases"]!.AsArray());
        var requests = pitchly.Emulator.GraphQLRequests;
        Assert.Equal(3, requests.Count);
        Assert.All(requests, request => Assert.Equal(PitchlyEmulatorTokenPlacement.Variable, request.Placement));
        Assert.Equal([true, false, true], requests.Select(request => request.Authenticated));
        Assert.Equal(2, pitchly.Emulator.GetStats().ClientCredentialsGrants);
    }

    [Fact]
    public void Allowed_origins_from_the_section_add_to_Pitchlys_own_endpoints_and_the_custom_handler_switch_is_read()
    {
        using var services = Build(new()
        {
            ["Pitchly:GraphQLEndpoint"] = "https://api.pitchly.example/graphql",
            ["Pitchly:TokenEndpoint"] = "https://platform.pitchly.example:8443/api/oauth/token",
            ["Pitchly:AccessToken:AllowedOrigins"] = "https://gateway.example, http://127.0.0.1:5080",
            ["Pitchly:AccessToken:AllowCustomPrimaryHandler"] = "true",
        });

        var options = services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client);

        Assert.Equal(
            ["http://127.0.0.1:5080", "https://api.pitchly.example", "https://gateway.example", "https://platform.pitchly.example:8443"],
            options.AllowedOrigins.Order(StringComparer.Ordinal));
        Assert.True(options.AllowCustomPrimaryHandler);
    }

    [Fact]
    public void A_custom_handler_switch_that_is_not_a_boolean_names_its_key()
    {
        using var services = Build(new() { ["Pitchly:AccessToken:AllowCustomPrimaryHandler"] = "yes" });

        var thrown = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(Client));

        Assert.Contains("Pitchly:AccessToken:AllowCustomPrimaryHandler must be true or false", thrown.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging();
        services.AddHttpClient(Client).AddPitchlyInstallAccessToken(PitchlyEmulatorDefaults.AcmeOrganizationId, configure: configure);
        return services.BuildServiceProvider();
    }
}

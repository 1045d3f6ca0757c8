using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task App_without_a_Pitchly_client_runs_on_an_embedded_emulator_in_Development()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:Emulator:AccessTokenLifetime"] = "00:00:07" });

        var server = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation);

        Assert.NotNull(server);
        Assert.Equal(PitchlyEmulatorDefaults.ClientId, builder.Configuration["Pitchly:ClientId"]);
        Assert.Equal($"{server.BaseAddress}api/oauth/token", builder.Configuration["Pitchly:TokenEndpoint"]);
        Assert.Equal(TimeSpan.FromSeconds(7), server.Emulator.CurrentOptions.AccessTokenLifetime);

        await using (var app = builder.Build())
        {
            await app.StartAsync(Cancellation);
            Assert.Same(server, app.Services.GetRequiredService<PitchlyEmulatorServer>());
            using var http = new HttpClient();
            using var response = await http.PostAsync(builder.Configuration["Pitchly:TokenEndpoint"], new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["organization_id"] = PitchlyEmulatorDefaults.AcmeOrganizationId,
                ["client_id"] = builder.Configuration["Pitchly:ClientId"]!,
                ["client_secret"] = builder.Configuration["Pitchly:ClientSecret"]!,
            }), Cancellation);
            var tokens = await response.Content.ReadFromJsonAsync<JsonObject>(Cancellation);
            Assert.Equal(7, tokens!["expires_in"]!.GetValue<long>());
            await app.StopAsync(Cancellation);

            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(server.BaseAddress, "_emulator/stats"), Cancellation));
        }
    }

    [Fact]
    public async Task App_with_a_Pitchly_client_is_left_alone()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Pitchly:ClientId"] = "appRealClient00000001" });

        var server = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(Cancellation);

        Assert.Null(server);
        Assert.Null(builder.Configuration["Pitchly:TokenEndpoint"]);
        Assert.DoesNotContain(builder.Services, d => d.ServiceType == typeof(PitchlyEmulatorServer));
    }

    [Fact]
    public void Options_bind_from_the_Pitchly_Emulator_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pitchly:Emulator:AccessTokenLifetime"] = "00:00:05",
            ["Pitchly:Emulator:ErrorStyle"] = "Legacy",
            ["Pitchly:Emulator:TokenEndpointFault"] = "DropAfterGrant",
            ["Pitchly:Emulator:GeneratedUsers"] = "3",
        }).Build();
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator(configuration).BuildServiceProvider();

        var emulator = provider.GetRequiredService<PitchlyEmulator>();

        Assert.Equal(TimeSpan.FromSeconds(5), emulator.CurrentOptions.AccessTokenLifetime);
        Assert.Equal(PitchlyEmulatorErrorStyle.Legacy, emulator.CurrentOptions.ErrorStyle);
        Assert.Equal(PitchlyEmulatorFault.DropAfterGrant, emulator.CurrentOptions.TokenEndpointFault);
        Assert.Equal(6, emulator.Users.Count);
        Assert.Equal("Load User 3", emulator.Users[^1].Name);
    }

    [Fact]
    public void Invalid_runtime_settings_are_refused_and_change_nothing()
    {
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator().BuildServiceProvider();
        var emulator = provider.GetRequiredService<PitchlyEmulator>();

        var exception = Assert.Throws<OptionsValidationException>(() => emulator.Configure(o =>
        {
            o.AccessTokenLifetime = TimeSpan.Zero;
            o.Latency = TimeSpan.FromSeconds(1);
        }));

        Assert.Contains("Pitchly:Emulator:AccessTokenLifetime", exception.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, emulator.CurrentOptions.Latency);
    }

    [Fact]
    public void CurrentOptions_is_a_copy()
    {
        using var provider = new ServiceCollection().AddLogging().AddPitchlyEmulator().BuildServiceProvider();
        var emulator = provider.GetRequiredService<PitchlyEmulator>();

        var copy = emulator.CurrentOptions;
        copy.AutoApprove = true;
        copy.Clients.Clear();

        Assert.False(emulator.CurrentOptions.AutoApprove);
        Assert.Single(emulator.CurrentOptions.Clients);
    }

    [Fact]
    public void Mapping_without_the_services_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();

        var exception = Assert.Throws<InvalidOperationException>(() => app.MapPitchlyEmulator());

        Assert.Contains("AddPitchlyEmulator", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Seeded_ids_follow_Pitchlys_formats()
    {
        Assert.StartsWith("app", PitchlyEmulatorDefaults.ClientId, StringComparison.Ordinal);
        Assert.StartsWith("plys_", PitchlyEmulatorDefaults.ClientSecret, StringComparison.Ordinal);
        Assert.Equal(48, PitchlyEmulatorDefaults.ClientSecret.Length);
        Assert.All(PitchlyEmulatorDefaults.Users, user =>
        {
            Assert.Matches("^psn[A-Za-z0-9]{17}$", user.PersonId);
            Assert.Matches("^org[A-Za-z0-9]{17}$", user.OrganizationId);
        });
        Assert.Equal(
            [PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GlobexOrganizationId],
            PitchlyEmulatorDefaults.Users.Select(u => u.OrganizationId).ToArray());
    }
}

using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Tests.EmulatorIntegration;

public sealed class EmbeddedEmulatorDefaultsTests
{
    [Fact]
    public async Task An_app_without_a_Pitchly_client_outside_Development_refuses_to_start_and_names_the_key()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");

        var emulator = await builder.AddPitchlyEmulatorUnlessConfiguredAsync(cancellationToken);
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = PitchlyAuthenticationDefaults.AuthenticationScheme;
            })
            .AddCookie()
            .AddPitchly();
        await using var app = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(cancellationToken));

        Assert.Null(emulator);
        Assert.Null(app.Services.GetService<PitchlyEmulatorServer>());
        Assert.Contains("Pitchly:ClientId", exception.Message, StringComparison.Ordinal);
    }
}

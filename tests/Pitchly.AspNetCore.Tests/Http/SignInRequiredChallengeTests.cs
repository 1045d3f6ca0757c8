using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Pitchly.AspNetCore.Tests.Http;

public sealed class SignInRequiredChallengeTests
{
    [Fact]
    public async Task Sign_in_required_in_a_request_becomes_a_challenge_that_returns_to_the_page()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UsePitchlySignInRequiredChallenge();
        app.MapGet("/data", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForUser("org", "psn"), "gone")));
        app.MapGet("/other", (HttpContext _) => Task.FromException(new InvalidOperationException("unrelated")));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var client = app.GetTestClient();

        using var response = await client.GetAsync("/data?page=2", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("ReturnUrl=%2Fdata%3Fpage%3D2", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetAsync("/other", TestContext.Current.CancellationToken));
    }
}

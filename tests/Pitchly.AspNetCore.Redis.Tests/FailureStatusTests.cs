using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// An app on real Kestrel, its tokens in a real redis-server, signed in at the emulator: when Redis stops mid-run or
/// Pitchly's token endpoint goes down, a call that needs a refresh answers 503 with <c>Retry-After</c> and a problem
/// details body (a page for a browser navigation), never 500, and nothing was spent that a retry would need.
/// </summary>
public sealed class FailureStatusTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Redis_stopped_mid_run_answers_an_API_call_503_with_retry_after_and_a_navigation_a_page_never_500()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.AutoApprove = true, Cancel);
        await using var app = await StartAsync(emulator);
        var (browser, _) = SignedInWebApp.Browser();
        using (browser)
        {
            var address = SignedInWebApp.AddressOf(app);
            await SignedInWebApp.SignInAsync(browser, address);
            using (var before = await browser.SendAsync(ApiCall(address), Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            }

            await redis.StopAsync();
            try
            {
                // Pitchly kills the token: the next call needs a refresh, and a refresh needs the shared store and lock.
                emulator.Emulator.InvalidateAccessTokens();
                using var api = await browser.SendAsync(ApiCall(address), Cancel);
                using var navigation = await browser.SendAsync(Navigation(address), Cancel);

                await AssertRetryableAsync(api, navigation, "store-unavailable");
                Assert.Equal(0, emulator.Emulator.GetStats().RefreshTokenReuse);
            }
            finally
            {
                await redis.StartAsync();
            }
        }
    }

    [Theory]
    [InlineData(PitchlyEmulatorFault.ServerError)]
    [InlineData(PitchlyEmulatorFault.Html)]
    public async Task The_token_endpoint_down_answers_an_API_call_503_with_retry_after_and_the_call_succeeds_once_it_is_back(PitchlyEmulatorFault fault)
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.AutoApprove = true, Cancel);
        await using var app = await StartAsync(emulator);
        var (browser, _) = SignedInWebApp.Browser();
        using (browser)
        {
            var address = SignedInWebApp.AddressOf(app);
            await SignedInWebApp.SignInAsync(browser, address);

            emulator.Emulator.Configure(o =>
            {
                o.TokenEndpointFault = fault;
                o.TokenEndpointFaultRate = 1;
            });
            emulator.Emulator.InvalidateAccessTokens();
            using (var api = await browser.SendAsync(ApiCall(address), Cancel))
            using (var navigation = await browser.SendAsync(Navigation(address), Cancel))
            {
                await AssertRetryableAsync(api, navigation, "token-endpoint-unavailable");
            }

            // Nothing was spent: once the endpoint is back, the retry the 503 asked for succeeds with the same refresh token.
            emulator.Emulator.Configure(o => o.TokenEndpointFaultRate = 0);
            using var retried = await browser.SendAsync(ApiCall(address), Cancel);
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await retried.Content.ReadAsStringAsync(Cancel));
            Assert.Equal(0, emulator.Emulator.GetStats().RefreshTokenReuse);
        }
    }

    private static async Task AssertRetryableAsync(HttpResponseMessage api, HttpResponseMessage navigation, string error)
    {
        foreach (var response in new[] { api, navigation })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.InRange(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
            Assert.Null(response.Headers.Location);
        }

        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await api.Content.ReadAsStringAsync(Cancel))!;
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.Equal(error, problem["error"]!.GetValue<string>());
        Assert.Equal("text/html", navigation.Content.Headers.ContentType?.MediaType);
        var page = await navigation.Content.ReadAsStringAsync(Cancel);
        Assert.Contains("try again", page, StringComparison.Ordinal);
        foreach (var body in new[] { problem.ToJsonString(), page })
        {
            Assert.DoesNotContain(PitchlyEmulatorDefaults.AdaLovelacePersonId, body, StringComparison.Ordinal);
            Assert.DoesNotContain(PitchlyEmulatorDefaults.ClientSecret, body, StringComparison.Ordinal);
        }
    }

    /// <summary>What <c>fetch('/me', { headers: { Accept: 'application/json' } })</c> sends.</summary>
    private static HttpRequestMessage ApiCall(Uri app)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app, "/me"));
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Add("Sec-Fetch-Mode", "cors");
        return request;
    }

    private static HttpRequestMessage Navigation(Uri app)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app, "/me"));
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        request.Headers.Add("Sec-Fetch-Mode", "navigate");
        return request;
    }

    private Task<WebApplication> StartAsync(PitchlyEmulatorServer emulator) =>
        SignedInWebApp.StartAsync(emulator, redis, $"f{Guid.NewGuid():N}"[..12], Directory.CreateTempSubdirectory("pitchly-status-keys-"));
}

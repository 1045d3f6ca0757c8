using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.MinimalApi;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

public sealed class MinimalApiSampleTests(ChromiumFixture chromium, MinimalApiSampleTests.MinimalApiApp app)
    : BrowserTest(chromium), IClassFixture<MinimalApiSampleTests.MinimalApiApp>
{
    private const string FetchStatus = "async path => (await fetch(path, { headers: { Accept: 'application/json' } })).status";

    [Theory]
    [InlineData("/api/me")]
    [InlineData("/api/data")]
    public async Task A_caller_that_is_not_signed_in_gets_401_rather_than_a_redirect(string path)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = app.Sample.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        // 401 with the sign-in page in Location (ASP.NET Core's cookie answer to API callers): never a 302 to follow.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_page_signs_in_shows_the_API_s_data_across_a_refresh_and_a_lost_sign_in_becomes_401()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var pitchly = app.Sample.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator;
        var store = app.Sample.Services.GetRequiredService<IPitchlyTokenStore>();
        var graceKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GraceHopperPersonId);

        await Page.GotoAsync(app.Sample.Url("/"));
        await Expect(Page.Locator("#status")).ToHaveTextAsync("You are not signed in.");
        await Page.ClickAsync("#sign-in");
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");

        await Expect(Page.Locator("#name")).ToHaveTextAsync("Grace Hopper");
        await Expect(Page.Locator("#organization")).ToHaveTextAsync("Acme Analytics");
        await Expect(Page.Locator("#data")).ToContainTextAsync(SeededData.AcmeRowValue);
        await Expect(Page.Locator("#data")).ToContainTextAsync(SeededData.AcmeRecordValue);
        await Expect(Page.Locator("#problems")).ToBeHiddenAsync();

        // Pitchly kills the token early: the next fetch is answered from a refreshed token, invisibly.
        var grants = pitchly.GetStats().RefreshGrants;
        Assert.True(pitchly.InvalidateAccessTokens(PitchlyEmulatorDefaults.GraceHopperPersonId) >= 1);
        await Page.ClickAsync("#reload");
        await Expect(Page.Locator("#status")).ToContainTextAsync("Data loaded at");
        await Expect(Page.Locator("#data")).ToContainTextAsync(SeededData.AcmeRowValue);
        await Expect(Page.Locator("#problems")).ToBeHiddenAsync();
        Assert.Equal(grants + 1, pitchly.GetStats().RefreshGrants);

        // The server's tokens are gone (revoked, signed out elsewhere): the cookie alone gets 401, and the page offers sign-in.
        Assert.True(await store.RemoveAsync(graceKey, cancellationToken: cancellation));
        Assert.Equal(401, await Page.EvaluateAsync<int>(FetchStatus, "/api/data"));
        await Page.ClickAsync("#reload");
        await Expect(Page.Locator("#status")).ToHaveTextAsync("Your Pitchly sign-in has ended. Sign in again.");
        await Expect(Page.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.Equal(0, pitchly.GetStats().RefreshTokenReuse);
    }

    [Theory]
    [InlineData("/%09/evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/%5Cevil.example")]
    [InlineData("http://evil.example/")]
    public async Task A_return_url_a_browser_would_read_as_another_host_ends_on_a_local_page_after_sign_in(string returnUrl)
    {
        var sample = app.Sample.BaseAddress;
        var elsewhere = new ConcurrentQueue<string>();
        Page.Request += (_, request) =>
        {
            if (request.IsNavigationRequest && new Uri(request.Url).Host != sample.Host)
            {
                elsewhere.Enqueue(request.Url);
            }
        };

        // Written as the link would be, escapes and all: the browser decodes %09 into a tab, which it then drops.
        await Page.GotoAsync(sample.GetLeftPart(UriPartial.Authority) + "/account/signin?returnUrl=" + returnUrl);
        await PitchlyConsent.ApproveAsAsync(Page, "Ada Lovelace");

        await Expect(Page.Locator("#name")).ToHaveTextAsync("Ada Lovelace");
        var landed = new Uri(Page.Url);
        Assert.Equal(sample.GetLeftPart(UriPartial.Authority), landed.GetLeftPart(UriPartial.Authority));
        Assert.Equal("/", landed.AbsolutePath);
        Assert.Empty(elsewhere);
    }

    [Fact]
    public async Task Signing_out_forgets_the_tokens_and_the_API_answers_401_again()
    {
        var store = app.Sample.Services.GetRequiredService<IPitchlyTokenStore>();
        var adaKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);

        await Page.GotoAsync(app.Sample.Url("/account/signin"));
        await PitchlyConsent.ApproveAsAsync(Page, "Ada Lovelace");
        await Expect(Page.Locator("#name")).ToHaveTextAsync("Ada Lovelace");
        Assert.NotNull(await store.GetAsync(adaKey, TestContext.Current.CancellationToken));

        await Page.ClickAsync("#sign-out");

        await Expect(Page.Locator("#status")).ToHaveTextAsync("You are not signed in.");
        Assert.Null(await store.GetAsync(adaKey, TestContext.Current.CancellationToken));
        Assert.Equal(401, await Page.EvaluateAsync<int>(FetchStatus, "/api/me"));
    }

    [Fact]
    public async Task Signing_out_while_the_data_is_loading_keeps_the_page_signed_out()
    {
        var pitchly = app.Sample.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator;
        var dataRequestSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dataRequestEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Page.Request += (_, request) => Signal(request, dataRequestSent);
        Page.RequestFinished += (_, request) => Signal(request, dataRequestEnded);
        Page.RequestFailed += (_, request) => Signal(request, dataRequestEnded);

        // Every Pitchly call takes a second, so /api/data is still on its way when the user signs out.
        pitchly.Configure(o => o.Latency = TimeSpan.FromSeconds(1));
        try
        {
            await Page.GotoAsync(app.Sample.Url("/account/signin"));
            await PitchlyConsent.ApproveAsAsync(Page, "Ada Lovelace");
            await Expect(Page.Locator("#name")).ToHaveTextAsync("Ada Lovelace");
            await dataRequestSent.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
            Assert.False(dataRequestEnded.Task.IsCompleted, "/api/data had already been answered before the sign-out.");
            await Page.ClickAsync("#sign-out");
            await Expect(Page.Locator("#status")).ToHaveTextAsync("You are not signed in.");

            // Whatever became of the load asked for before the click, it must not show data on a signed-out page.
            await dataRequestEnded.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
            Assert.Equal(401, await Page.EvaluateAsync<int>(FetchStatus, "/api/me"));
            Assert.Equal("You are not signed in.", await Page.TextContentAsync("#status"));
            Assert.Empty(await Page.Locator("#data > *").AllAsync());
            Assert.True(await Page.Locator("#sign-in").IsVisibleAsync());
        }
        finally
        {
            pitchly.Configure(o => o.Latency = TimeSpan.Zero);
        }

        static void Signal(Microsoft.Playwright.IRequest request, TaskCompletionSource signal)
        {
            if (new Uri(request.Url).AbsolutePath == "/api/data")
            {
                signal.TrySetResult();
            }
        }
    }

    public sealed class MinimalApiApp : IAsyncLifetime
    {
        public SampleApp Sample { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Sample = await SampleApp.StartAsync(typeof(SampleApiEndpoints).Assembly);

        public ValueTask DisposeAsync() => Sample.DisposeAsync();
    }
}

using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore.Emulator;
using Pitchly.Samples.Mvc.Controllers;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

public sealed class MvcSampleTests(ChromiumFixture chromium, MvcSampleTests.MvcApp app) : BrowserTest(chromium), IClassFixture<MvcSampleTests.MvcApp>
{
    [Fact]
    public async Task Grace_Hopper_signs_in_sees_her_profile_and_data_and_signing_out_forgets_her_tokens()
    {
        var store = app.Sample.Services.GetRequiredService<IPitchlyTokenStore>();
        var graceKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GraceHopperPersonId);

        await Page.GotoAsync(app.Sample.Url("/"));
        await Expect(Page.Locator("#backend")).ToContainTextAsync("Running on the embedded Pitchly emulator");
        await Page.ClickAsync("#sign-in");
        await PitchlyConsent.ApproveAsAsync(Page, "Grace Hopper");

        await Expect(Page).ToHaveURLAsync(app.Sample.Url("/me"));
        await Expect(Page.Locator("#name")).ToHaveTextAsync("Grace Hopper");
        await Expect(Page.Locator("#person-id")).ToHaveTextAsync(PitchlyEmulatorDefaults.GraceHopperPersonId);
        await Expect(Page.Locator("#organization")).ToContainTextAsync("Acme Analytics");
        await Expect(Page.Locator("#organization")).ToContainTextAsync(PitchlyEmulatorDefaults.AcmeOrganizationId);
        await Expect(Page.Locator("#email")).ToHaveTextAsync(PitchlyEmulatorDefaults.GraceHopperEmail);
        await Expect(Page.Locator("img.picture")).ToBeVisibleAsync();
        Assert.NotNull(await store.GetAsync(graceKey, TestContext.Current.CancellationToken));

        await Page.GotoAsync(app.Sample.Url("/data"));
        await Expect(Page.Locator("h3.database").First).ToBeVisibleAsync();
        await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeDatabaseName);
        await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeRowValue);
        await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeWorkspaceName);
        await Expect(Page.Locator("main")).ToContainTextAsync(SeededData.AcmeRecordValue);
        await Expect(Page.Locator("#problems")).ToHaveCountAsync(0);

        await Page.ClickAsync("#sign-out");
        await Expect(Page).ToHaveURLAsync(app.Sample.Url("/"));
        await Expect(Page.Locator("#greeting")).ToHaveTextAsync("You are not signed in.");
        Assert.Null(await store.GetAsync(graceKey, TestContext.Current.CancellationToken));

        await Page.GotoAsync(app.Sample.Url("/data"));
        Assert.True(PitchlyConsent.IsConsentPage(Page), $"Expected the emulator's consent page after sign-out, got {Page.Url}");
    }

    [Fact]
    public async Task Grace_signed_in_in_two_browsers_signs_out_in_one_the_other_keeps_working_and_the_signed_out_cookie_replayed_is_challenged()
    {
        var store = app.Sample.Services.GetRequiredService<IPitchlyTokenStore>();
        var graceKey = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.GraceHopperPersonId);
        var browser = Page.Context.Browser!;
        await using var laptop = await browser.NewContextAsync();
        var laptopPage = await laptop.NewPageAsync();
        foreach (var page in new[] { Page, laptopPage })
        {
            await page.GotoAsync(app.Sample.Url("/account/signin"));
            await PitchlyConsent.ApproveAsAsync(page, "Grace Hopper");
            await Expect(page).ToHaveURLAsync(app.Sample.Url("/me"));
        }

        Assert.Equal(2, (await store.GetAsync(graceKey, TestContext.Current.CancellationToken))!.Sessions!.Count);
        var phoneCookies = await Page.Context.CookiesAsync();

        await Page.ClickAsync("#sign-out");
        await Expect(Page.Locator("#greeting")).ToHaveTextAsync("You are not signed in.");

        await laptopPage.GotoAsync(app.Sample.Url("/data"));
        await Expect(laptopPage.Locator("main")).ToContainTextAsync(SeededData.AcmeDatabaseName);
        Assert.Single((await store.GetAsync(graceKey, TestContext.Current.CancellationToken))!.Sessions!);

        // The phone's cookie, copied before it signed out, replayed from a third browser.
        await using var thief = await browser.NewContextAsync();
        await thief.AddCookiesAsync(phoneCookies.Select(c => new Microsoft.Playwright.Cookie
        {
            Name = c.Name,
            Value = c.Value,
            Domain = c.Domain,
            Path = c.Path,
            HttpOnly = c.HttpOnly,
            Secure = c.Secure,
            SameSite = c.SameSite,
        }));
        var thiefPage = await thief.NewPageAsync();
        await thiefPage.GotoAsync(app.Sample.Url("/data"));
        Assert.True(PitchlyConsent.IsConsentPage(thiefPage), $"Expected the emulator's consent page for the signed-out cookie, got {thiefPage.Url}");

        await laptopPage.GotoAsync(app.Sample.Url("/"));
        await laptopPage.ClickAsync("#sign-out-everywhere");
        await Expect(laptopPage.Locator("#greeting")).ToHaveTextAsync("You are not signed in.");
        Assert.Null(await store.GetAsync(graceKey, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Denied_consent_ends_on_a_friendly_page()
    {
        await Page.GotoAsync(app.Sample.Url("/account/signin"));
        await PitchlyConsent.DenyAsync(Page);

        await Expect(Page.Locator("#denied")).ToHaveTextAsync("You declined to sign in with Pitchly");
        Assert.StartsWith(app.Sample.Url("/account/denied"), Page.Url, StringComparison.Ordinal);
        await Expect(Page.Locator("#greeting")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_forged_sign_in_callback_ends_on_a_readable_error_page()
    {
        await Page.GotoAsync(app.Sample.Url("/signin-pitchly?code=forged&state=forged"));

        await Expect(Page.Locator("#sign-in-failed")).ToHaveTextAsync("Sign-in with Pitchly did not complete");
        await Expect(Page.Locator("main .problems")).ToContainTextAsync("state");
        await Page.GotoAsync(app.Sample.Url("/"));
        await Expect(Page.Locator("#greeting")).ToHaveTextAsync("You are not signed in.");
    }

    [Fact]
    public async Task A_row_added_elsewhere_appears_on_the_live_page_without_a_reload()
    {
        var emulator = app.Sample.Services.GetRequiredService<PitchlyEmulatorServer>().Emulator;
        await Page.GotoAsync(app.Sample.Url("/account/signin"));
        await PitchlyConsent.ApproveAsAsync(Page, "Ada Lovelace");
        await Expect(Page).ToHaveURLAsync(app.Sample.Url("/me"));

        await LivePage.RowAddedElsewhereAppearsAsync(Page, app.Sample, emulator);
    }

    public sealed class MvcApp : IAsyncLifetime
    {
        public SampleApp Sample { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Sample = await SampleApp.StartAsync(typeof(HomeController).Assembly);

        public ValueTask DisposeAsync() => Sample.DisposeAsync();
    }
}

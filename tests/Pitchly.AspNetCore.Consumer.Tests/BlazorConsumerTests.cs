using System.Collections.Concurrent;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// A Blazor Web App built from the packed packages alone (<see cref="BlazorApp"/>), driven by headless Chromium: sign
/// in on the emulator's consent page as a person other than the preselected one, click a button in an interactive
/// component whose circuit runs over long polling, and see that person's name, as Pitchly answered the circuit's user.
/// </summary>
[Collection(PackedCollection.Name)]
public sealed class BlazorConsumerTests(PackedApp packed)
{
    private const string Chromium = "/usr/bin/chromium";

    private const string PersonName = "Grace Hopper";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_Blazor_Web_App_on_the_packed_packages_calls_Pitchly_from_an_interactive_component_as_the_circuits_user_over_long_polling()
    {
        Assert.True(File.Exists(Chromium), $"This test needs Chromium at {Chromium}: apt-get install -y chromium");
        await packed.BuildAsync(packed.BlazorAppDirectory);
        var project = File.ReadAllText(Path.Combine(packed.BlazorAppDirectory, "ConsumerApp.csproj"));
        Assert.DoesNotContain("ProjectReference", project, StringComparison.Ordinal);

        await using var app = DotNetProcess.Start(DotNetProcess.Executable, packed.BlazorAppDirectory, [packed.BlazorAppAssembly, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });
        var listening = await app.WaitForLineAsync(line => ConsumerTests.ListeningOn().IsMatch(line), StartTimeout);
        var address = new Uri(ConsumerTests.ListeningOn().Match(listening).Groups["address"].Value);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        });
        await using var context = await browser.NewContextAsync();
        context.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)StepTimeout.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)StepTimeout.TotalMilliseconds);
        var page = await context.NewPageAsync();
        var webSockets = new ConcurrentQueue<string>();
        var polls = new ConcurrentQueue<string>();
        page.WebSocket += (_, socket) => webSockets.Enqueue(socket.Url);
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/_blazor?id=", StringComparison.Ordinal))
            {
                polls.Enqueue(request.Url);
            }
        };

        try
        {
            // The doc's sign-in endpoint, through the emulator's consent page, as someone other than the preselected person.
            await page.GotoAsync(new Uri(address, "/account/signin?returnUrl=" + Uri.EscapeDataString(BlazorApp.ViewerPath)).AbsoluteUri);
            Assert.Equal("/oauth/authorize", new Uri(page.Url).AbsolutePath);
            await page.GetByLabel(PersonName, new PageGetByLabelOptions { Exact = true }).CheckAsync();
            await page.ClickAsync("#approve");
            await Expect(page).ToHaveURLAsync(new Uri(address, BlazorApp.ViewerPath).AbsoluteUri);

            // The button exists only once the circuit rendered it; the click runs in the circuit.
            var load = page.Locator("#load");
            await Expect(load).ToBeEnabledAsync();
            await load.ClickAsync();
            await page.WaitForFunctionAsync("() => document.querySelector('#name').textContent || document.querySelector('#problem').textContent");
            await Expect(page.Locator("#problem")).ToBeEmptyAsync();
            await Expect(page.Locator("#name")).ToHaveTextAsync(PersonName);
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            var problem = await page.Locator("#problem").CountAsync() > 0 ? await page.Locator("#problem").TextContentAsync() : null;
            throw new InvalidOperationException($"At {page.Url}, problem shown: '{problem}'.\nApp output:\n{app.Output}", e);
        }

        Assert.Empty(webSockets);
        Assert.NotEmpty(polls);
    }
}

using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(Pitchly.AspNetCore.BrowserTests.ChromiumFixture))]

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// One headless Chromium for the whole run; each test opens its own browser context (own cookies).
/// </summary>
/// <remarks>
/// Needs Chromium at /usr/bin/chromium (Debian: <c>apt-get install -y chromium</c>). Playwright's own browser
/// download (<c>playwright install</c>) is not used: the package's driver launches the system Chromium. The samples
/// under test run on real Kestrel at 127.0.0.1 with their embedded Pitchly emulator, so no network is needed; the
/// host resolver rules keep the browser from trying any other host.
/// </remarks>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"The browser tests need Chromium at {ExecutablePath}: apt-get install -y chromium");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

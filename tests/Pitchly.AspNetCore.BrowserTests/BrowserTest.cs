using Microsoft.Playwright;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// A test with its own browser context and page. When the test fails, a screenshot of the page is saved under
/// <c>screenshots/</c> in the test output folder and attached to the test result.
/// </summary>
public abstract class BrowserTest(ChromiumFixture chromium) : IAsyncLifetime
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(15);

    private IBrowserContext? _context;

    protected IPage Page { get; private set; } = null!;

    public virtual async ValueTask InitializeAsync()
    {
        _context = await chromium.Browser.NewContextAsync();
        _context.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        _context.SetDefaultNavigationTimeout((float)StepTimeout.TotalMilliseconds);
        Assertions.SetDefaultExpectTimeout((float)StepTimeout.TotalMilliseconds);
        Page = await _context.NewPageAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_context is null)
        {
            return;
        }

        if (TestContext.Current.TestState?.Result == TestResult.Failed && Page is not null)
        {
            await SaveScreenshotAsync();
        }

        await _context.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task SaveScreenshotAsync()
    {
        try
        {
            var name = string.Concat((TestContext.Current.Test?.TestDisplayName ?? "test").Select(c => char.IsLetterOrDigit(c) ? c : '_'));
            var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, name + ".png");
            var png = await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            TestContext.Current.AddAttachment(name + ".png", png, "image/png");
            TestContext.Current.SendDiagnosticMessage($"Failure screenshot of {Page.Url}: {path}");
        }
        catch (PlaywrightException)
        {
            // The page may be gone with the failure; the test's own error says more than a missing screenshot.
        }
    }
}

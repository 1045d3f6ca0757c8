using Microsoft.Playwright;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>Drives the emulator's consent page, where a person is picked and the app approved or denied.</summary>
public static class PitchlyConsent
{
    public static async Task ApproveAsAsync(IPage page, string personName)
    {
        await page.GetByLabel(personName, new PageGetByLabelOptions { Exact = true }).CheckAsync();
        await page.ClickAsync("#approve");
    }

    public static async Task DenyAsync(IPage page) => await page.ClickAsync("#deny");

    public static bool IsConsentPage(IPage page) => new Uri(page.Url).AbsolutePath == "/oauth/authorize";
}

using Microsoft.Playwright;
using Pitchly.AspNetCore.Emulator;
using static Microsoft.Playwright.Assertions;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>Drives a sample's <c>/live</c> page, whose rows a server-side Pitchly subscription keeps current.</summary>
public static class LivePage
{
    /// <summary>
    /// Opens <c>/live</c> as the signed-in user, waits until the emulator has accepted the page's subscription, inserts a
    /// row as someone else would, and expects it on the page without a reload.
    /// </summary>
    public static async Task RowAddedElsewhereAppearsAsync(IPage page, SampleApp app, PitchlyEmulator emulator)
    {
        var subscribed = emulator.GetStats().SubscriptionOperations;
        await page.GotoAsync(app.Url("/live"));
        await Expect(page.Locator("#live-database")).ToHaveTextAsync(SeededData.AcmeDatabaseName);
        await Expect(page.Locator("#live-status")).ToHaveTextAsync("Listening for changes.");
        // The server's graphql-ws subscription is in place once the emulator has accepted its subscribe message.
        for (var waited = 0; emulator.GetStats().SubscriptionOperations == subscribed; waited++)
        {
            Assert.True(waited < 150, "The live page's subscription never reached Pitchly.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await Task.Delay(300, TestContext.Current.CancellationToken);
        var table = page.Locator("#live-rows");
        var databaseId = await table.GetAttributeAsync("data-database-id");
        var fieldId = (await table.GetAttributeAsync("data-field-ids"))!.Split(' ')[0];
        var value = "Added elsewhere " + Guid.NewGuid().ToString("N")[..8];

        var rowId = emulator.InsertRow(databaseId!, new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { [fieldId] = value });

        await Expect(page.Locator($"#live-rows tr[data-id='{rowId}']")).ToContainTextAsync(value);
        await Expect(page.Locator("#live-status")).ToContainTextAsync(" at ");
        Assert.Equal(app.Url("/live"), page.Url);
    }
}

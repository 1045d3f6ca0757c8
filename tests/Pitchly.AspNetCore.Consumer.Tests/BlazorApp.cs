namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// The sources of a Blazor Web App (interactive server) on the packed core and emulator packages: its services and
/// pipeline are docs/scenarios/blazor.md's "Services" block as written, after the emulator line, plus what the
/// <c>dotnet new blazor</c> template has (static assets, a root component, a router). One page has an interactive
/// component that calls Pitchly on a button click. The circuit is forced to long polling, where a poll's request
/// says nothing reliable about the circuit's user.
/// </summary>
public static class BlazorApp
{
    public const string ServicesDoc = "docs/scenarios/blazor.md";

    /// <summary>The page with the interactive component.</summary>
    public const string ViewerPath = "/viewer";

    /// <summary>Writes everything but the project file into <paramref name="directory"/>.</summary>
    public static void WriteSources(string directory)
    {
        var components = Path.Combine(directory, "Components");
        Directory.CreateDirectory(components);
        File.WriteAllText(Path.Combine(directory, "Program.cs"), Program());
        File.WriteAllText(Path.Combine(components, "_Imports.razor"), """
            @using System.Text.Json
            @using Microsoft.AspNetCore.Authorization
            @using Microsoft.AspNetCore.Components.Routing
            @using Microsoft.AspNetCore.Components.Web
            @using Pitchly.AspNetCore

            """);
        File.WriteAllText(Path.Combine(components, "App.razor"), """
            <!DOCTYPE html>
            <html lang="en">
            <head>
                <meta charset="utf-8" />
                <base href="/" />
                <title>Pitchly consumer</title>
                <HeadOutlet />
            </head>
            <body>
                <Routes />
                @* Long polling only (HttpTransportType.LongPolling is 4), as behind a proxy that refuses WebSockets. *@
                <script src="_framework/blazor.web.js" autostart="false"></script>
                <script>
                    Blazor.start({ circuit: { configureSignalR: builder => builder.withUrl("_blazor", 4) } });
                </script>
            </body>
            </html>

            """);
        File.WriteAllText(Path.Combine(components, "Routes.razor"), """
            <Router AppAssembly="typeof(Program).Assembly">
                <Found Context="routeData">
                    <RouteView RouteData="routeData" />
                </Found>
            </Router>

            """);
        File.WriteAllText(Path.Combine(components, "Viewer.razor"), $$"""
            @page "{{ViewerPath}}"
            @attribute [Authorize]
            @rendermode @(new Microsoft.AspNetCore.Components.Web.InteractiveServerRenderMode(prerender: false))
            @inject IPitchlyGraphQLClient Pitchly

            @* Rendered only once the circuit is up (no prerendering): the click is circuit activity, not a request. *@
            <button id="load" @onclick="LoadAsync">Load</button>
            <p id="name">@_name</p>
            <p id="problem">@_problem</p>

            @code {
                private string? _name;
                private string? _problem;

                private async Task LoadAsync()
                {
                    try
                    {
                        var response = await Pitchly.SendAsync<JsonElement>(new PitchlyGraphQLRequest("{ viewer { person { name } } }"));
                        _name = response.Data.GetProperty("viewer").GetProperty("person").GetProperty("name").GetString();
                    }
                    catch (Exception e)
                    {
                        // Shown rather than ending the circuit, so that a failure says what went wrong.
                        _problem = e.GetType().FullName + ": " + e.Message;
                    }
                }
            }

            """);
    }

    /// <summary>
    /// Program.cs: the emulator line, then blazor.md's services block as written (with its sign-in endpoint
    /// <c>/account/signin</c>), then the template's static assets and the run.
    /// </summary>
    public static string Program()
    {
        var block = DocBlocks.Extract(PackedApp.RepositoryRoot, ServicesDoc)
            .FirstOrDefault(b => b.IsFragment && b.Code.Contains("AddPitchlyBlazor()", StringComparison.Ordinal));
        Assert.True(block is not null, $"{ServicesDoc} has no ```csharp fragment block that calls AddPitchlyBlazor().");
        Assert.Contains("app.MapRazorComponents<App>().AddInteractiveServerRenderMode();", block.Code, StringComparison.Ordinal);
        Assert.Contains("app.MapGet(\"/account/signin\"", block.Code, StringComparison.Ordinal);

        return $"""
            using Microsoft.AspNetCore.Authentication;
            using Microsoft.AspNetCore.Authentication.Cookies;
            using Pitchly.AspNetCore;
            using ConsumerApp.Components;

            var builder = WebApplication.CreateBuilder(args);
            await builder.AddPitchlyEmulatorUnlessConfiguredAsync();

            {block.Code}
            app.MapStaticAssets();

            await app.RunAsync();

            """;
    }
}

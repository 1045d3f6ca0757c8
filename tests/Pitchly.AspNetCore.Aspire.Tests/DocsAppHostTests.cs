using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.Aspire.Tests;

/// <summary>
/// The app host docs/scenarios/aspire.md tells a reader to write (<c>AddPitchlyEmulator("pitchly")</c>, a web project
/// <c>WithReference(pitchly)</c>), started for real with the <c>pitchly-emulator</c> tool installed from the packed
/// package onto the <c>PATH</c>, as a reader gets it: a person signs in through the emulator's consent page and the web
/// project calls Pitchly for them.
/// </summary>
public sealed partial class DocsAppHostTests
{
    private const string ToolPackage = "Pitchly.AspNetCore.Emulator.Host";

    private static readonly string RepositoryRoot = FindRepositoryRoot();

    [Fact]
    public void The_test_app_host_is_the_first_block_of_the_Aspire_page()
    {
        static IEnumerable<string> Code(IEnumerable<string> lines) => lines
            .Select(line => Regex.Replace(line, @"\s*//.*$", string.Empty))
            .Where(line => line.Length > 0);

        var page = File.ReadAllLines(Path.Combine(RepositoryRoot, "docs", "scenarios", "aspire.md"));
        var open = Array.FindIndex(page, line => line.StartsWith("```csharp", StringComparison.Ordinal));
        var close = Array.IndexOf(page, "```", open + 1);
        var documented = Code(page[(open + 1)..close]).Select(line => line.Replace("Projects.Web", "Projects.Pitchly_Samples_MinimalApi", StringComparison.Ordinal));
        var appHost = Code(File.ReadAllLines(Path.Combine(RepositoryRoot, "tests", "Pitchly.AspNetCore.Aspire.DocsAppHost", "Program.cs")));

        Assert.Equal(documented, appHost);
    }

    [Fact]
    public async Task An_app_host_written_from_the_docs_signs_a_person_in_through_the_emulator_tool_and_calls_Pitchly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var root = Path.Combine(Path.GetTempPath(), "pitchly-aspire-tool-" + Guid.NewGuid().ToString("N")[..12]);
        var path = Environment.GetEnvironmentVariable("PATH");
        try
        {
            var tools = await InstallToolAsync(root, timeout.Token);

            // As after `dotnet tool install -g`: the tool's folder is on the PATH the app host (and its orchestrator) sees.
            Environment.SetEnvironmentVariable("PATH", tools + Path.PathSeparator + path);
            var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pitchly_AspNetCore_Aspire_DocsAppHost>(timeout.Token);
            await using var app = await appHost.BuildAsync(timeout.Token);
            await app.StartAsync(timeout.Token);

            var emulatorResource = Assert.IsType<PitchlyEmulatorResource>(
                appHost.Resources.Single(resource => resource.Name == "pitchly"));
            Assert.Equal("pitchly-emulator", emulatorResource.Command);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("pitchly", timeout.Token);
            await app.ResourceNotifications.WaitForResourceAsync("web", KnownResourceStates.Running, timeout.Token);

            var web = app.GetEndpoint("web", "http");
            using var browser = new LoopbackBrowser();
            await WhenListeningAsync(browser, web, timeout.Token);

            // Sign-in goes to the emulator's consent page, where the person picks Grace Hopper and approves.
            var (consentAt, consent) = await browser.GetAsync(new Uri(web, "/account/signin"), timeout.Token);
            Assert.Equal(PitchlyEmulatorDefaults.AuthorizationPath, consentAt.AbsolutePath);
            Assert.Equal("127.0.0.1", consentAt.Host);
            var form = HiddenInput().Matches(consent)
                .Select(match => KeyValuePair.Create(WebUtility.HtmlDecode(match.Groups["name"].Value), WebUtility.HtmlDecode(match.Groups["value"].Value)))
                .Append(KeyValuePair.Create("person_id", PitchlyEmulatorDefaults.GraceHopperPersonId))
                .Append(KeyValuePair.Create("decision", "approve"))
                .ToList();
            Assert.Contains(form, field => field.Key == "request_signature");
            var action = WebUtility.HtmlDecode(FormAction().Match(consent).Groups["action"].Value);
            var (signedInAt, _) = await browser.PostFormAsync(new Uri(consentAt, action), form, timeout.Token);
            Assert.Equal(new Uri(web, "/"), signedInAt);

            // The web project calls Pitchly for her, with what WithReference gave it and nothing else.
            using (var me = JsonDocument.Parse((await browser.GetAsync(new Uri(web, "/api/me"), timeout.Token)).Page))
            {
                Assert.Equal(PitchlyEmulatorDefaults.GraceHopperPersonId, me.RootElement.GetProperty("personId").GetString());
                Assert.Equal(PitchlyEmulatorDefaults.GraceHopperName, me.RootElement.GetProperty("name").GetString());
                Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationName, me.RootElement.GetProperty("organizationName").GetString());
                Assert.Empty(me.RootElement.GetProperty("problems").EnumerateArray());
            }

            // Her access token is invalidated at the emulator: the next call refreshes once and still answers.
            using var emulator = app.CreateHttpClient("pitchly", PitchlyEmulatorResource.HttpEndpointName);
            using (var invalidated = await emulator.PostAsync(new Uri($"/_emulator/invalidate?person_id={PitchlyEmulatorDefaults.GraceHopperPersonId}", UriKind.Relative), content: null, timeout.Token))
            {
                invalidated.EnsureSuccessStatusCode();
            }

            using (var data = JsonDocument.Parse((await browser.GetAsync(new Uri(web, "/api/data"), timeout.Token)).Page))
            {
                Assert.Equal(PitchlyEmulatorDefaults.AcmeOrganizationName, data.RootElement.GetProperty("organizationName").GetString());
                Assert.NotEmpty(data.RootElement.GetProperty("workspaces").EnumerateArray());
                Assert.Empty(data.RootElement.GetProperty("problems").EnumerateArray());
            }

            using var stats = JsonDocument.Parse(await emulator.GetStringAsync(new Uri("/_emulator/stats", UriKind.Relative), timeout.Token));
            Assert.Equal(1, stats.RootElement.GetProperty("authorization_code_grants").GetInt32());
            Assert.Equal(1, stats.RootElement.GetProperty("refresh_grants").GetInt32());
            Assert.Equal(0, stats.RootElement.GetProperty("refresh_token_reuse").GetInt32());
            Assert.Equal(0, stats.RootElement.GetProperty("failed_token_requests").GetInt32());
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Packs the emulator host as a reader downloads it (its own build folder: the repository's outputs stay as they are)
    /// and installs the tool from that package; returns the folder of the <c>pitchly-emulator</c> command.
    /// </summary>
    private static async Task<string> InstallToolAsync(string root, CancellationToken cancellationToken)
    {
        var packages = Path.Combine(root, "packages");
        var tools = Path.Combine(root, "tools");
        // A version no earlier run used, so no cached package of that number stands in for this build.
        var suffix = "aspire." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        await DotNetAsync(RepositoryRoot, cancellationToken,
            "pack", Path.Combine("src", ToolPackage, ToolPackage + ".csproj"), "-c", "Release", "-o", packages,
            "--artifacts-path", Path.Combine(root, "artifacts"), "-p:VersionSuffix=" + suffix, "-nodeReuse:false");
        var package = Assert.Single(Directory.GetFiles(packages, ToolPackage + ".*.nupkg"));
        var version = Path.GetFileNameWithoutExtension(package)[(ToolPackage.Length + 1)..];
        await DotNetAsync(root, cancellationToken,
            "tool", "install", ToolPackage, "--tool-path", tools, "--add-source", packages, "--version", version);
        Assert.True(File.Exists(Path.Combine(tools, OperatingSystem.IsWindows() ? "pitchly-emulator.exe" : "pitchly-emulator")));
        return tools;
    }

    private static async Task DotNetAsync(string workingDirectory, CancellationToken cancellationToken, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // This test host runs under `dotnet test`: its MSBuild and test platform settings are not the child's.
        foreach (var key in startInfo.Environment.Keys.Where(key =>
            key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
            || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
            || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
    }

    /// <summary>The project is Running once started; its endpoint answers once Kestrel listens behind the orchestrator's proxy.</summary>
    private static async Task WhenListeningAsync(LoopbackBrowser browser, Uri web, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await browser.GetAsync(web, cancellationToken);
                return;
            }
            catch (HttpRequestException) when (attempt < 100)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Pitchly.AspNetCore.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"Pitchly.AspNetCore.sln was not found above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenInput();

    [GeneratedRegex("<form id=\"consent\" method=\"post\" action=\"(?<action>[^\"]*)\"")]
    private static partial Regex FormAction();
}

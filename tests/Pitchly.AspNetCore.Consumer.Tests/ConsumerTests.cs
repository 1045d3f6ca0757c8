using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Pitchly.AspNetCore.Consumer.Tests;

[Collection(PackedCollection.Name)]
public sealed partial class ConsumerTests(PackedApp packed)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_README_quick_start_with_the_emulator_line_answers_fetch_401_signs_in_and_calls_Pitchly_both_ways()
    {
        await packed.BuildAsync(packed.AppDirectory);
        await using var app = DotNetProcess.Start(DotNetProcess.Executable, packed.AppDirectory, [packed.AppAssembly, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });
        var listening = await app.WaitForLineAsync(line => ListeningOn().IsMatch(line), StartTimeout);
        var address = new Uri(ListeningOn().Match(listening).Groups["address"].Value);

        // What the README promises a script that is not signed in: 401, not a redirect it cannot follow.
        foreach (var path in new[] { "/me", "/me/own-client" })
        {
            using var fetched = await FetchAsync(new Uri(address, path));
            Assert.True(fetched.StatusCode == HttpStatusCode.Unauthorized, $"fetch('{path}') before sign-in: {(int)fetched.StatusCode} {fetched.Headers.Location}\n{app.Output}");
        }

        using var browser = new LoopbackBrowser();
        using var consentPage = await browser.GetAsync(new Uri(address, "/signin"), Cancellation);
        Assert.Equal(HttpStatusCode.OK, consentPage.StatusCode);
        Assert.Equal("/oauth/authorize", consentPage.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.NotEqual(address.Port, consentPage.RequestMessage.RequestUri.Port);

        using var viewer = await browser.ApproveAsync(consentPage, Cancellation);
        var viewerBody = await viewer.Content.ReadAsStringAsync(Cancellation);
        Assert.True(viewer.StatusCode == HttpStatusCode.OK, $"{viewer.StatusCode} from {viewer.RequestMessage!.RequestUri}: {viewerBody}\n{app.Output}");
        Assert.Equal(new Uri(address, "/me"), viewer.RequestMessage!.RequestUri);
        Assert.Contains(browser.Visited, url => url.Port == address.Port && url.AbsolutePath == "/signin-pitchly");
        var person = JsonNode.Parse(viewerBody)!["viewer"]!["person"]!;
        Assert.StartsWith("psn", person["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(person["name"]!.GetValue<string>()));

        // The quick start's own HttpClient takes Pitchly:GraphQLEndpoint, here the emulator's, from configuration.
        using var ownClient = await browser.GetAsync(new Uri(address, "/me/own-client"), Cancellation);
        var ownBody = await ownClient.Content.ReadAsStringAsync(Cancellation);
        Assert.True(ownClient.StatusCode == HttpStatusCode.OK, $"{ownClient.StatusCode}: {ownBody}\n{app.Output}");
        Assert.Equal(person["id"]!.GetValue<string>(), JsonNode.Parse(ownBody)!["data"]!["viewer"]!["person"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_README_quick_start_as_written_builds_on_the_core_package_alone_and_answers_fetch_401()
    {
        await packed.BuildAsync(packed.CoreAppDirectory);
        Assert.DoesNotContain("Emulator", File.ReadAllText(Path.Combine(packed.CoreAppDirectory, "ConsumerApp.csproj")), StringComparison.Ordinal);

        // Nothing of the emulator (GraphQL.NET, the stand-in sign-in page) is in the app's output.
        var output = Path.GetDirectoryName(packed.CoreAppAssembly)!;
        Assert.False(File.Exists(Path.Combine(output, "Pitchly.AspNetCore.Emulator.dll")), "The core-only quick start's output holds the emulator.");
        Assert.False(File.Exists(Path.Combine(output, "GraphQL.dll")), "The core-only quick start's output holds GraphQL.NET.");
        Assert.True(File.Exists(Path.Combine(output, "Pitchly.AspNetCore.dll")));

        // No client id: the app refuses to start and says which key is missing.
        await using (var unconfigured = DotNetProcess.Start(DotNetProcess.Executable, packed.CoreAppDirectory, [packed.CoreAppAssembly, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" }))
        {
            var exitCode = await unconfigured.WaitForExitAsync(StartTimeout);
            Assert.True(exitCode is not null and not 0, "The core-only quick start started without Pitchly:ClientId:\n" + unconfigured.Output);
            Assert.Contains("Pitchly:ClientId", unconfigured.Output, StringComparison.Ordinal);
        }

        // Configured as for Pitchly itself (nothing here reaches Pitchly): a script that is not signed in gets 401, a
        // browser that opens /signin goes to Pitchly's authorization endpoint.
        await using var app = DotNetProcess.Start(DotNetProcess.Executable, packed.CoreAppDirectory, [packed.CoreAppAssembly, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Pitchly__ClientId"] = "quick-start-app",
                ["Pitchly__ClientSecret"] = "plys_quick-start-not-a-secret",
            });
        var listening = await app.WaitForLineAsync(line => ListeningOn().IsMatch(line), StartTimeout);
        var address = new Uri(ListeningOn().Match(listening).Groups["address"].Value);

        using var fetched = await FetchAsync(new Uri(address, "/me"));
        Assert.True(fetched.StatusCode == HttpStatusCode.Unauthorized, $"fetch('/me') before sign-in: {(int)fetched.StatusCode} {fetched.Headers.Location}\n{app.Output}");

        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var signIn = await http.GetAsync(new Uri(address, "/signin"), Cancellation);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.StartsWith("https://platform.pitchly.com/oauth/authorize?", signIn.Headers.Location!.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_quick_start_with_the_emulator_line_in_Production_without_a_client_id_refuses_to_start_and_names_the_key()
    {
        await packed.BuildAsync(packed.AppDirectory);
        await using var app = DotNetProcess.Start(DotNetProcess.Executable, packed.AppDirectory, [packed.AppAssembly, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });

        var exitCode = await app.WaitForExitAsync(StartTimeout);

        Assert.True(exitCode is not null, "The app kept running in Production without Pitchly:ClientId:\n" + app.Output);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Pitchly:ClientId", app.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", app.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_packages_share_one_version_and_carry_readme_docs_symbols_and_exact_dependencies_on_each_other()
    {
        Assert.StartsWith(Regex.Match(File.ReadAllText(Path.Combine(PackedApp.RepositoryRoot, "Directory.Build.props")), "<VersionPrefix>(.+)</VersionPrefix>").Groups[1].Value + "-", packed.Version, StringComparison.Ordinal);
        Assert.EndsWith("-" + packed.VersionSuffix, packed.Version, StringComparison.Ordinal);

        foreach (var id in PackedApp.LibraryPackages.Append(PackedApp.ToolPackage).Append(PackedApp.AspireHostingPackage))
        {
            var package = Path.Combine(packed.Packages, $"{id}.{packed.Version}.nupkg");
            Assert.True(File.Exists(package), $"{id} {packed.Version} was not packed.");
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), $"{id} has no symbol package.");
            using var zip = ZipFile.OpenRead(package);
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", entries);

            var nuspec = XDocument.Load(zip.GetEntry(id + ".nuspec")!.Open());
            XNamespace ns = nuspec.Root!.GetDefaultNamespace();
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal(packed.Version, metadata.Element(ns + "version")!.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
            Assert.Contains("pitchly", metadata.Element(ns + "tags")!.Value, StringComparison.Ordinal);
            Assert.NotNull(metadata.Element(ns + "repository")?.Attribute("commit"));

            if (id == PackedApp.ToolPackage)
            {
                Assert.Contains(metadata.Element(ns + "packageTypes")!.Elements(), e => e.Attribute("name")?.Value == "DotnetTool");
                continue;
            }

            Assert.Contains($"lib/net10.0/{id}.xml", entries);
            var internalDependencies = metadata.Descendants(ns + "dependency")
                .Where(d => d.Attribute("id")!.Value.StartsWith("Pitchly.", StringComparison.Ordinal))
                .ToList();
            Assert.All(internalDependencies, d => Assert.Equal($"[{packed.Version}]", d.Attribute("version")!.Value));
            if (id == "Pitchly.AspNetCore.Redis")
            {
                Assert.Contains(internalDependencies, d => d.Attribute("id")!.Value == "Pitchly.AspNetCore");
            }

            if (id == PackedApp.AspireHostingPackage)
            {
                Assert.Contains(internalDependencies, d => d.Attribute("id")!.Value == "Pitchly.AspNetCore.Emulator");
            }
        }
    }

    [Fact]
    public async Task The_emulator_tool_installs_from_its_package_and_serves_on_the_given_address()
    {
        var tools = Path.Combine(packed.Root, "tools");
        await DotNetProcess.RunAsync(packed.Root, TimeSpan.FromMinutes(5),
            "tool", "install", PackedApp.ToolPackage, "--version", packed.Version, "--tool-path", tools, "--add-source", packed.Packages);

        await using var emulator = DotNetProcess.Start(Path.Combine(tools, "pitchly-emulator"), packed.Root, ["--urls", "http://127.0.0.1:0"]);
        var listening = await emulator.WaitForLineAsync(line => line.StartsWith("Pitchly emulator listening on ", StringComparison.Ordinal), StartTimeout);
        var address = new Uri(listening["Pitchly emulator listening on ".Length..].Trim());
        using var http = new HttpClient { BaseAddress = address };

        using var stats = await http.GetAsync("/_emulator/stats", Cancellation);
        using var token = await http.PostAsync("/api/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }), Cancellation);

        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, token.StatusCode);
        Assert.Contains("invalid_client", await token.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    /// <summary>A GET as a page's <c>fetch()</c> sends it: no navigation, any content type, redirects not followed.</summary>
    private static async Task<HttpResponseMessage> FetchAsync(Uri url)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("*/*");
        request.Headers.Add("Sec-Fetch-Mode", "cors");
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        request.Headers.Add("Sec-Fetch-Dest", "empty");
        return await http.SendAsync(request, Cancellation);
    }

    /// <summary>Kestrel's line that names the address an app started with <c>--urls http://127.0.0.1:0</c> listens on.</summary>
    [GeneratedRegex(@"Now listening on: (?<address>http://127\.0\.0\.1:\d+)")]
    internal static partial Regex ListeningOn();
}

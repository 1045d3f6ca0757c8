using System.Globalization;
using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// Packs the repository's packages once into a temporary folder, then writes and builds, outside the repository, a new
/// web app that references only those packages through a local NuGet source: the README's quick start as written, plus
/// endpoints that call Pitchly through <c>IPitchlyGraphQLClient</c> and through the quick start's own <c>HttpClient</c>.
/// </summary>
public sealed partial class PackedApp : IAsyncLifetime
{
    public static readonly string[] LibraryPackages = ["Pitchly.AspNetCore", "Pitchly.AspNetCore.Redis", "Pitchly.AspNetCore.Emulator", "Pitchly.AspNetCore.Testing"];

    public const string ToolPackage = "Pitchly.AspNetCore.Emulator.Host";

    /// <summary>Packed with the others, but for Aspire app hosts: the web app written here does not reference it.</summary>
    public const string AspireHostingPackage = "Pitchly.AspNetCore.Aspire.Hosting";

    // Cold SDK work on a shared 2-core machine: generous, since a timeout here proves nothing about the packages.
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(8);

    public PackedApp()
    {
        Root = Path.Combine(Path.GetTempPath(), "pitchly-consumer-" + Guid.NewGuid().ToString("N")[..12]);
        Packages = Path.Combine(Root, "packages");
        AppDirectory = Path.Combine(Root, "app");
        // A version no earlier run used: the shared NuGet cache never serves an older build under the same number.
        VersionSuffix = "consumer." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
    }

    public string Root { get; }

    public string Packages { get; }

    public string AppDirectory { get; }

    public string VersionSuffix { get; }

    public string Version { get; private set; } = string.Empty;

    public string AppAssembly => Path.Combine(AppDirectory, "bin", "Release", "net10.0", "ConsumerApp.dll");

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Packages);
        await DotNetProcess.RunAsync(
            RepositoryRoot,
            CliTimeout,
            "pack", Path.Combine("src", "Pitchly.AspNetCore.Packages.slnf"),
            "-c", "Release",
            "-o", Packages,
            // Its own bin and obj: the repository's build outputs stay as the rest of the suite built them.
            "--artifacts-path", Path.Combine(Root, "artifacts"),
            "-p:VersionSuffix=" + VersionSuffix,
            "-nodeReuse:false");

        var core = Directory.GetFiles(Packages, "Pitchly.AspNetCore.*.nupkg")
            .Select(Path.GetFileName)
            .Select(name => CorePackageName().Match(name!))
            .Single(match => match.Success);
        Version = core.Groups["version"].Value;

        WriteApp();
        await DotNetProcess.RunAsync(AppDirectory, CliTimeout, "build", "-c", "Release", "-nodeReuse:false");
    }

    public ValueTask DisposeAsync()
    {
        TryDelete(Root);

        // The uniquely versioned packages would otherwise stay in the shared cache after every run.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in LibraryPackages.Append(ToolPackage).Append(AspireHostingPackage))
        {
            if (Version.Length > 0)
            {
                TryDelete(Path.Combine(cache, id.ToLowerInvariant(), Version.ToLowerInvariant()));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The README's quick start, the code block under "## Quick start", exactly as users copy it.</summary>
    public static string QuickStart()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var section = readme.IndexOf("\n## Quick start", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no '## Quick start' section.");
        var start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        var end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..end];
    }

    private void WriteApp()
    {
        Directory.CreateDirectory(AppDirectory);

        // Empty files stop MSBuild's and NuGet's upward search: nothing of a surrounding tree applies.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Packages.props"), "<Project />\n");

        // The packed folder first, then whatever sources this machine's NuGet configuration already has.
        File.WriteAllText(Path.Combine(AppDirectory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="pitchly-packed" value="{Packages}" />
              </packageSources>
            </configuration>
            """);

        var references = string.Join("\n", LibraryPackages.Select(id => $"""    <PackageReference Include="{id}" Version="{Version}" />"""));
        File.WriteAllText(Path.Combine(AppDirectory, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <WarningsNotAsErrors>NU1603</WarningsNotAsErrors>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);

        File.WriteAllText(Path.Combine(AppDirectory, "Program.cs"), QuickStart() + "\n" + """

            // What the consumer test calls once signed in: Pitchly through the typed GraphQL client and through the
            // quick start's own HttpClient.
            app.MapGet("/viewer", async (IPitchlyGraphQLClient graphQL, CancellationToken cancellationToken) =>
            {
                var response = await graphQL.SendAsync<System.Text.Json.JsonElement>(
                    new PitchlyGraphQLRequest("{ viewer { person { id name } } }"), cancellationToken);
                return Results.Json(response.GetDataOrThrow());
            }).RequireAuthorization();

            app.MapGet("/viewer/own-client", async (MyPitchlyClient pitchly, CancellationToken cancellationToken) =>
                Results.Content(await pitchly.ViewerAsync(cancellationToken), "application/json")).RequireAuthorization();

            app.Run();

            public sealed class MyPitchlyClient(HttpClient http, IConfiguration configuration)
            {
                // The quick start points this client at Pitchly; on the embedded emulator the request names its endpoint.
                public async Task<string> ViewerAsync(CancellationToken cancellationToken)
                {
                    var endpoint = configuration["Pitchly:GraphQLEndpoint"] ?? http.BaseAddress!.ToString();
                    using var response = await http.PostAsJsonAsync(endpoint, new { query = "{ viewer { person { id name } } }" }, cancellationToken);
                    response.EnsureSuccessStatusCode();
                    return await response.Content.ReadAsStringAsync(cancellationToken);
                }
            }
            """);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
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

    [GeneratedRegex(@"^Pitchly\.AspNetCore\.(?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex CorePackageName();
}

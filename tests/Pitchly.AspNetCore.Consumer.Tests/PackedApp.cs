using System.Globalization;
using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// Packs the repository's packages once into a temporary folder, then writes, outside the repository, new projects that
/// reference only those packages through a local NuGet source: the README's quick start as written on the core package
/// alone, the same quick start with its optional emulator line on core plus the emulator, and every C# block of the
/// documentation (<see cref="DocBlocks"/>). Each is built when a test first needs it.
/// </summary>
public sealed partial class PackedApp : IAsyncLifetime
{
    /// <summary>The packages the quick start names: the core package, and the emulator for its optional line.</summary>
    public static readonly string[] QuickStartPackages = ["Pitchly.AspNetCore", "Pitchly.AspNetCore.Emulator"];

    /// <summary>The line of the quick start after which its optional emulator line goes, as the README says.</summary>
    public const string EmulatorLineGoesAfter = "var builder = WebApplication.CreateBuilder(args);";

    public static readonly string[] LibraryPackages = ["Pitchly.AspNetCore", "Pitchly.AspNetCore.Redis", "Pitchly.AspNetCore.Emulator", "Pitchly.AspNetCore.Testing"];

    public const string ToolPackage = "Pitchly.AspNetCore.Emulator.Host";

    /// <summary>Packed with the others, but for Aspire app hosts: the web app written here does not reference it.</summary>
    public const string AspireHostingPackage = "Pitchly.AspNetCore.Aspire.Hosting";

    // Cold SDK work on a shared 2-core machine: generous, since a timeout here proves nothing about the packages.
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(8);

    private readonly Dictionary<string, Task> _builds = new(StringComparer.Ordinal);

    public PackedApp()
    {
        Root = Path.Combine(Path.GetTempPath(), "pitchly-consumer-" + Guid.NewGuid().ToString("N")[..12]);
        Packages = Path.Combine(Root, "packages");
        AppDirectory = Path.Combine(Root, "app");
        CoreAppDirectory = Path.Combine(Root, "core-app");
        DocsDirectory = Path.Combine(Root, "docs");
        BlazorAppDirectory = Path.Combine(Root, "blazor-app");
        AppHostDocsDirectory = Path.Combine(Root, "apphost-docs");
        // A version no earlier run used: the shared NuGet cache never serves an older build under the same number.
        VersionSuffix = "consumer." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
    }

    public string Root { get; }

    public string Packages { get; }

    /// <summary>Gets the quick start with the emulator line, on the core and emulator packages.</summary>
    public string AppDirectory { get; }

    /// <summary>Gets the quick start as written, on the core package alone.</summary>
    public string CoreAppDirectory { get; }

    /// <summary>Gets the Blazor Web App (<see cref="BlazorApp"/>), on the core and emulator packages.</summary>
    public string BlazorAppDirectory { get; }

    /// <summary>Gets the project of every C# block of the documentation, on every package.</summary>
    public string DocsDirectory { get; }

    /// <summary>Gets the project of the documentation's app host blocks, on the Aspire hosting package.</summary>
    public string AppHostDocsDirectory { get; }

    public string VersionSuffix { get; }

    public string Version { get; private set; } = string.Empty;

    public string AppAssembly => Path.Combine(AppDirectory, "bin", "Release", "net10.0", "ConsumerApp.dll");

    public string BlazorAppAssembly => Path.Combine(BlazorAppDirectory, "bin", "Release", "net10.0", "ConsumerApp.dll");

    public string CoreAppAssembly => Path.Combine(CoreAppDirectory, "bin", "Release", "net10.0", "ConsumerApp.dll");

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

        // Empty files stop MSBuild's and NuGet's upward search: nothing of a surrounding tree applies.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Packages.props"), "<Project />\n");
    }

    /// <summary>
    /// Writes and builds the app of <paramref name="projectDirectory"/> (<see cref="AppDirectory"/>,
    /// <see cref="CoreAppDirectory"/> or <see cref="BlazorAppDirectory"/>) once, whichever test asks first; a failure throws with the build's output.
    /// </summary>
    public Task BuildAsync(string projectDirectory)
    {
        lock (_builds)
        {
            if (!_builds.TryGetValue(projectDirectory, out var build))
            {
                build = Task.Run(async () =>
                {
                    if (projectDirectory == AppDirectory)
                    {
                        WriteProject(AppDirectory, QuickStartPackages, QuickStartWithEmulator());
                    }
                    else if (projectDirectory == BlazorAppDirectory)
                    {
                        WriteProject(BlazorAppDirectory, QuickStartPackages, program: null);
                        BlazorApp.WriteSources(BlazorAppDirectory);
                    }
                    else
                    {
                        Assert.Equal(CoreAppDirectory, projectDirectory);
                        WriteProject(CoreAppDirectory, QuickStartPackages[..1], QuickStart());
                    }

                    await DotNetProcess.RunAsync(projectDirectory, CliTimeout, "build", "-c", "Release", "-nodeReuse:false");
                });
                _builds[projectDirectory] = build;
            }

            return build;
        }
    }

    /// <summary>
    /// Writes the project of every C# block of <paramref name="blocks"/> into <paramref name="directory"/> (one file per
    /// block) on every library package, and builds it; returns the exit code and the build's output. App host blocks
    /// (<see cref="DocBlock.IsAppHost"/>) are built alone, on the Aspire hosting package, as an app host would be.
    /// </summary>
    public async Task<(int? ExitCode, string Output)> BuildDocsAsync(string directory, IReadOnlyList<DocBlock> blocks)
    {
        var props = File.ReadAllText(Path.Combine(RepositoryRoot, "Directory.Packages.props"));
        string VersionOf(string id) => Regex.Match(props, $"<PackageVersion Include=\"{Regex.Escape(id)}\" Version=\"([^\"]+)\"").Groups[1].Value;

        var appHost = blocks.Any(block => block.IsAppHost);
        Assert.True(!appHost || blocks.All(block => block.IsAppHost), "App host blocks are compiled in a project of their own.");
        if (appHost)
        {
            // What the Aspire page tells readers to add to an app host: Aspire's Redis resource (same release as Aspire.Hosting).
            WriteProject(directory, [AspireHostingPackage], program: null,
                new Dictionary<string, string> { ["Aspire.Hosting.Redis"] = VersionOf("Aspire.Hosting") }, docs: true, appHost: true);
        }
        else
        {
            // What the docs themselves tell readers to add: Data Protection keys in Redis; xunit for the testing page;
            // OpenTelemetry's hosting extensions, as Aspire's service defaults have them.
            var extra = new Dictionary<string, string>
            {
                ["Microsoft.AspNetCore.DataProtection.StackExchangeRedis"] = VersionOf("Microsoft.AspNetCore.DataProtection.StackExchangeRedis"),
                ["xunit.v3.assert"] = VersionOf("xunit.v3"),
                ["OpenTelemetry.Extensions.Hosting"] = VersionOf("OpenTelemetry.Extensions.Hosting"),
            };
            WriteProject(directory, LibraryPackages, program: null, extra, docs: true);
        }

        DocBlocks.WriteSources(directory, blocks);

        await using var build = DotNetProcess.Start(DotNetProcess.Executable, directory, ["build", "-c", "Release", "-nodeReuse:false"]);
        var exitCode = await build.WaitForExitAsync(CliTimeout);
        return (exitCode, build.Output);
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

    /// <summary>The README's quick start: the first complete C# block under "## Quick start", exactly as users copy it.</summary>
    public static string QuickStart() => QuickStartBlocks().QuickStart.Code + "\n";

    /// <summary>
    /// The quick start with its optional emulator line (the fragment block that follows it) inserted where the README
    /// says: right after <see cref="EmulatorLineGoesAfter"/>.
    /// </summary>
    public static string QuickStartWithEmulator()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        Assert.Contains($"right after\n`{EmulatorLineGoesAfter}`", readme, StringComparison.Ordinal);
        var (quickStart, emulatorLine) = QuickStartBlocks();
        var lines = quickStart.Lines.ToList();
        var at = lines.IndexOf(EmulatorLineGoesAfter);
        Assert.True(at >= 0, $"The quick start has no line '{EmulatorLineGoesAfter}'.");
        lines.InsertRange(at + 1, ["", .. emulatorLine.Lines]);
        return string.Join('\n', lines) + "\n";
    }

    private static (DocBlock QuickStart, DocBlock EmulatorLine) QuickStartBlocks()
    {
        var heading = Array.IndexOf(File.ReadAllLines(Path.Combine(RepositoryRoot, "README.md")), "## Quick start");
        Assert.True(heading >= 0, "README.md has no '## Quick start' section.");
        var blocks = DocBlocks.Extract(RepositoryRoot, "README.md").Where(b => b.Line > heading).ToList();
        var quickStart = blocks.FirstOrDefault(b => !b.IsFragment && !b.IsAppHost);
        Assert.True(quickStart is not null, "README.md's quick start has no complete ```csharp block.");
        var emulatorLine = blocks.FirstOrDefault(b => b.IsFragment && b.Line > quickStart.Line);
        Assert.True(emulatorLine?.Code.Contains("AddPitchlyEmulatorUnlessConfiguredAsync", StringComparison.Ordinal) == true,
            "The first ```csharp fragment block after README.md's quick start must be its optional emulator line.");
        return (quickStart, emulatorLine);
    }

    private void WriteProject(string directory, IEnumerable<string> packages, string? program, IReadOnlyDictionary<string, string>? otherPackages = null, bool docs = false, bool appHost = false)
    {
        Directory.CreateDirectory(directory);

        // The packed folder first, then whatever sources this machine's NuGet configuration already has.
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="pitchly-packed" value="{Packages}" />
              </packageSources>
            </configuration>
            """);

        var references = string.Join("\n", packages.Select(id => $"""    <PackageReference Include="{id}" Version="{Version}" />""")
            .Concat((otherPackages ?? new Dictionary<string, string>()).Select(p => $"""    <PackageReference Include="{p.Key}" Version="{p.Value}" />""")));

        // An app is built as a new project would be, warnings as errors. The docs' excerpts are compiled for what they
        // call: unused locals and async methods without await are theirs to have, obsolete API is not.
        var properties = docs
            ? """
                <OutputType>Library</OutputType>
                <NoWarn>$(NoWarn);CS0105;CS0168;CS0219;CS1998;CS4014;CS8321;NU1603</NoWarn>
                <WarningsAsErrors>$(WarningsAsErrors);CS0618</WarningsAsErrors>
              """
            : """
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <WarningsNotAsErrors>NU1603</WarningsNotAsErrors>
              """;
        // An app host's project has the namespaces Aspire.Hosting.AppHost imports for it.
        var appHostItems = appHost
            ? """
                <Using Include="Aspire.Hosting" />
                <Using Include="Aspire.Hosting.ApplicationModel" />
              """
            : string.Empty;
        File.WriteAllText(Path.Combine(directory, docs ? "DocSnippets.csproj" : "ConsumerApp.csproj"), $"""
            <Project Sdk="{(appHost ? "Microsoft.NET.Sdk" : "Microsoft.NET.Sdk.Web")}">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
            {properties}
              </PropertyGroup>
              <ItemGroup>
            {references}
            {appHostItems}
              </ItemGroup>
            </Project>
            """);

        if (program is not null)
        {
            File.WriteAllText(Path.Combine(directory, "Program.cs"), program);
        }
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

using System.Text;
using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// The C# blocks of the documentation, and a project that compiles all of them against the packed packages.
/// </summary>
/// <remarks>
/// The convention, also described in docs/scenarios/README.md:
/// <list type="bullet">
/// <item>A block opened with <c>```csharp</c> (or <c>cs</c>, <c>c#</c>) is a complete file of a <c>dotnet new web</c>
/// project: its own <c>using</c> directives, then top-level statements, then types, and nothing else in scope.</item>
/// <item>A block opened with <c>```csharp fragment</c> is an excerpt: the same order (usings, statements, types), but
/// its statements run inside a method where the package namespaces are imported and <see cref="AmbientSource"/>
/// declares what an excerpt may use without declaring it (<c>builder</c>, <c>app</c>, <c>organizationId</c>, <c>ct</c>,
/// placeholder types such as <c>MyPitchlyClient</c>, …). Anything else it uses it must declare itself.</item>
/// <item>A block opened with <c>```csharp apphost</c> (or <c>```csharp apphost fragment</c>) is code of a .NET Aspire app
/// host, compiled in a project of its own on the Aspire hosting package with an app host's implicit usings
/// (<c>Aspire.Hosting</c>, <c>Aspire.Hosting.ApplicationModel</c>); its fragments may use <see cref="AppHostAmbientSource"/>
/// (<c>builder</c> as the app host's builder, <c>pitchly</c>, and the referenced project <c>Projects.Web</c>).</item>
/// </list>
/// Types start at the first line, at column 0, that declares a class, record, struct, interface or enum. Each block
/// becomes one file in its own namespace, with <c>#line</c> directives: a compiler error names the Markdown file and the
/// line of the block.
/// </remarks>
public static partial class DocBlocks
{
    /// <summary>The documentation whose C# blocks must compile, relative to the repository root.</summary>
    public static IEnumerable<string> DocumentedFiles(string repositoryRoot) =>
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Path.Combine(repositoryRoot, "docs", "scenarios"), "*.md")
                .Select(path => Path.GetRelativePath(repositoryRoot, path).Replace('\\', '/'))
                .Order(StringComparer.Ordinal));

    /// <summary>Every C# block of a Markdown file, in order.</summary>
    public static IReadOnlyList<DocBlock> Extract(string repositoryRoot, string relativePath)
    {
        var fullPath = Path.Combine(repositoryRoot, relativePath);
        var lines = File.ReadAllLines(fullPath);
        var blocks = new List<DocBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var start = i + 1;
            var end = start;
            while (end < lines.Length && !lines[end].TrimEnd().Equals("```", StringComparison.Ordinal))
            {
                end++;
            }

            if (end == lines.Length)
            {
                throw new InvalidOperationException($"{relativePath}({i + 1}): a ```{open.Groups["language"].Value} block is never closed.");
            }

            // Line numbers are 1-based: the block's first code line is the line after the fence.
            blocks.Add(new DocBlock(relativePath, fullPath, start + 1, open.Groups["fragment"].Success, lines[start..end], open.Groups["apphost"].Success));
            i = end;
        }

        return blocks;
    }

    /// <summary>
    /// Writes one C# file per block into <paramref name="directory"/>, plus the ambient declarations fragments may use.
    /// </summary>
    public static void WriteSources(string directory, IReadOnlyList<DocBlock> blocks)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "Ambient.cs"), blocks.Any(block => block.IsAppHost) ? AppHostAmbientSource : AmbientSource);
        for (var i = 0; i < blocks.Count; i++)
        {
            var name = $"B{i:D3}_{SafeName().Replace(blocks[i].RelativePath, "_")}_L{blocks[i].Line}";
            File.WriteAllText(Path.Combine(directory, name + ".cs"), Wrap(blocks[i], name));
        }
    }

    /// <summary>
    /// The compiler errors in a build's output, each once, paths relative to the repository: "README.md(57,5): error CS1061: …".
    /// </summary>
    public static IReadOnlyList<string> Errors(string buildOutput, string repositoryRoot)
    {
        var root = repositoryRoot.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return buildOutput.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Contains(": error ", StringComparison.Ordinal))
            .Select(line => ProjectSuffix().Replace(line, string.Empty).Replace(root, string.Empty, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    private static string Wrap(DocBlock block, string name)
    {
        var lines = block.Lines;
        var usingsEnd = 0;
        while (usingsEnd < lines.Count && (UsingDirective().IsMatch(lines[usingsEnd]) || string.IsNullOrWhiteSpace(lines[usingsEnd])))
        {
            usingsEnd++;
        }

        var typesStart = usingsEnd;
        while (typesStart < lines.Count && !TypeDeclaration().IsMatch(lines[typesStart]))
        {
            typesStart++;
        }

        var source = new StringBuilder();
        source.Append("// Generated from ").Append(block.RelativePath).Append(", line ").Append(block.Line)
            .Append(block.IsFragment ? " (fragment)" : " (complete file)").Append(block.IsAppHost ? " of an app host" : string.Empty).Append(".\n");
        AppendMapped(source, block, 0, lines.Take(usingsEnd));
        if (block.IsFragment)
        {
            source.Append(block.IsAppHost ? AppHostFragmentUsings : FragmentUsings);
        }

        source.Append("namespace DocSnippets.").Append(name).Append(";\n\n");
        var statements = lines.Skip(usingsEnd).Take(typesStart - usingsEnd).ToList();
        if (statements.Any(line => !string.IsNullOrWhiteSpace(line)))
        {
            source.Append(block.IsFragment
                ? "internal sealed class Snippet : DocSnippets.Ambient\n{\n    public async Task RunAsync()\n    {\n"
                : "internal static class Snippet\n{\n    public static async Task RunAsync(string[] args)\n    {\n");
            AppendMapped(source, block, usingsEnd, statements);
            source.Append("        await Task.CompletedTask;\n    }\n}\n\n");
        }

        AppendMapped(source, block, typesStart, lines.Skip(typesStart));
        return source.ToString();
    }

    private static void AppendMapped(StringBuilder source, DocBlock block, int offset, IEnumerable<string> lines)
    {
        var list = lines.ToList();
        if (list.Count == 0)
        {
            return;
        }

        source.Append("#line ").Append(block.Line + offset).Append(" \"").Append(block.FullPath).Append("\"\n");
        foreach (var line in list)
        {
            source.Append(line).Append('\n');
        }

        source.Append("#line default\n");
    }

    /// <summary>Namespaces a fragment sees besides the web SDK's implicit ones.</summary>
    private const string FragmentUsings = """
        using System.Net.Http.Headers;
        using System.Security.Claims;
        using System.Text.Json;
        using Microsoft.AspNetCore.Authentication;
        using Microsoft.AspNetCore.Authentication.Cookies;
        using Microsoft.AspNetCore.DataProtection;
        using Microsoft.Extensions.Options;
        using Pitchly.AspNetCore;
        using Pitchly.AspNetCore.Emulator;
        using Pitchly.AspNetCore.Redis;
        using Pitchly.AspNetCore.Testing;
        using StackExchange.Redis;
        using Xunit;

        """;

    /// <summary>What a fragment may use without declaring it. Keep this list short: a reader has to guess these.</summary>
    public const string AmbientSource = """
        // What documentation fragments may use without declaring it (see DocBlocks in the consumer tests).
        using Microsoft.AspNetCore.Builder;
        using Pitchly.AspNetCore;
        using StackExchange.Redis;

        #pragma warning disable IDE1006, CS0649, CS8618
        namespace DocSnippets;

        internal abstract class Ambient
        {
            protected string[] args = [];
            protected WebApplicationBuilder builder;
            protected WebApplication app;
            protected IPitchlyGraphQLClient graphQL;
            protected IPitchlySubscriptionClient subscriptions;
            protected IPitchlyTokenManager tokenManager;
            protected IConnectionMultiplexer redis;
            protected string organizationId = "org";
            protected string orgId = "org";
            protected string databaseId = "db";
            protected string personId = "psn";
            protected CancellationToken ct;
            protected CancellationToken cancellationToken;
            protected CancellationToken stoppingToken;
        }

        // Placeholders for "your own" typed HttpClients and services.
        internal sealed class MyPitchlyClient(HttpClient http) { public HttpClient Http { get; } = http; }
        internal sealed class InstallClient(HttpClient http) { public HttpClient Http { get; } = http; }
        internal sealed class KeyClient(HttpClient http) { public HttpClient Http { get; } = http; }
        internal sealed class JwtClient(HttpClient http) { public HttpClient Http { get; } = http; }
        internal sealed class LegacyClient(HttpClient http) { public HttpClient Http { get; } = http; }
        internal sealed class App : Microsoft.AspNetCore.Components.ComponentBase { } // a Blazor Web App's root component
        internal sealed class SyncWorker : Microsoft.Extensions.Hosting.BackgroundService
        {
            protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
        }

        """;

    /// <summary>Namespaces an app host fragment sees besides an app host's implicit ones.</summary>
    private const string AppHostFragmentUsings = """
        using Pitchly.AspNetCore.Emulator;

        """;

    /// <summary>What an app host fragment may use without declaring it, and the project an app host references.</summary>
    public const string AppHostAmbientSource = """
        // What app host fragments of the documentation may use without declaring it (see DocBlocks in the consumer tests).
        using Aspire.Hosting;
        using Aspire.Hosting.ApplicationModel;

        #pragma warning disable IDE1006, CS0649, CS8618
        namespace DocSnippets
        {
            internal abstract class Ambient
            {
                protected string[] args = [];
                protected IDistributedApplicationBuilder builder;
                protected IResourceBuilder<PitchlyEmulatorResource> pitchly;
            }
        }

        // What an app host that references a project named Web gets generated for it.
        namespace Projects
        {
            internal sealed class Web : IProjectMetadata
            {
                public string ProjectPath => "../Web/Web.csproj";
            }
        }

        """;

    [GeneratedRegex(@"^```(?<language>csharp|cs|c#)(?<apphost>\s+apphost)?(?<fragment>\s+fragment)?\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^using\s+(static\s+)?[\w.]+(\s*=\s*[\w.<>, ]+)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^(\[.*\]\s*)*((public|internal|file|sealed|static|abstract|partial|readonly|ref)\s+)*(class|record|struct|interface|enum)\s")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"[^A-Za-z0-9]+")]
    private static partial Regex SafeName();

    [GeneratedRegex(@"\s*\[[^\]]*\.csproj\]$")]
    private static partial Regex ProjectSuffix();
}

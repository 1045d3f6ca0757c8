namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// Every C# block of README.md and docs/scenarios/*.md compiles against the packed packages, so a snippet that stops
/// compiling fails the run with its file and line (see <see cref="DocBlocks"/> for the fragment convention).
/// </summary>
[Collection(PackedCollection.Name)]
public sealed class DocsCompileTests(PackedApp packed)
{
    [Fact]
    public async Task Every_csharp_block_of_the_README_and_the_scenario_docs_compiles_against_the_packages()
    {
        var blocks = DocBlocks.DocumentedFiles(PackedApp.RepositoryRoot)
            .SelectMany(file => DocBlocks.Extract(PackedApp.RepositoryRoot, file))
            .ToList();
        Assert.Contains(blocks, b => b.RelativePath == "README.md" && !b.IsFragment);
        Assert.Contains(blocks, b => b.RelativePath.StartsWith("docs/scenarios/", StringComparison.Ordinal));
        Assert.Contains(blocks, b => b.RelativePath == "docs/scenarios/aspire.md" && b.IsAppHost && !b.IsFragment);

        // The web app's blocks, then the app hosts' (a project of their own, on the Aspire hosting package).
        foreach (var (directory, kind) in new[] { (packed.DocsDirectory, false), (packed.AppHostDocsDirectory, true) })
        {
            var ofKind = blocks.Where(b => b.IsAppHost == kind).ToList();
            var (exitCode, output) = await packed.BuildDocsAsync(directory, ofKind);

            var errors = DocBlocks.Errors(output, PackedApp.RepositoryRoot);
            Assert.True(exitCode == 0 && errors.Count == 0,
                $"{errors.Count} compiler error(s) in the C# blocks of the docs ({ofKind.Count} {(kind ? "app host " : string.Empty)}blocks; the generated project is {directory}):\n"
                + (errors.Count > 0 ? string.Join('\n', errors) : output)
                + "\n(While any declaration or syntax error remains, the compiler skips method bodies: run again after fixing these.)");
        }
    }

    [Fact]
    public async Task A_block_that_does_not_compile_is_reported_with_its_file_and_line()
    {
        var directory = Path.Combine(packed.Root, "broken-doc");
        Directory.CreateDirectory(directory);
        var markdown = Path.Combine(directory, "broken.md");
        File.WriteAllText(markdown, """
            # A page

            ```csharp fragment
            builder.Services.AddPitchlyTokenManagement();
            builder.Services.AddPitchlyNoSuchThing();
            ```

            ```csharp
            var builder = WebApplication.CreateBuilder(args);
            builder.Services.AddPitchlyTokenManagement();
            ```

            ```csharp apphost fragment
            builder.AddPitchlyEmulator("pitchly");
            ```
            """);

        var all = DocBlocks.Extract(directory, "broken.md");
        Assert.Equal([(true, false, 4), (false, false, 9), (true, true, 14)], all.Select(b => (b.IsFragment, b.IsAppHost, b.Line)));
        var blocks = all.Where(b => !b.IsAppHost).ToList();

        var (exitCode, output) = await packed.BuildDocsAsync(Path.Combine(directory, "project"), blocks);

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(DocBlocks.Errors(output, directory));
        Assert.StartsWith("broken.md(5,", error, StringComparison.Ordinal);
        Assert.Contains("AddPitchlyNoSuchThing", error, StringComparison.Ordinal);
    }
}

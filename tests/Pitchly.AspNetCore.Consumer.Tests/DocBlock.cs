namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>One C# block of a Markdown file.</summary>
/// <param name="RelativePath">The file, relative to the repository root.</param>
/// <param name="FullPath">The file's full path.</param>
/// <param name="Line">The 1-based line of the block's first code line.</param>
/// <param name="IsFragment">Whether the fence says <c>fragment</c>.</param>
/// <param name="Lines">The block's lines.</param>
/// <param name="IsAppHost">Whether the fence says <c>apphost</c>: code of a .NET Aspire app host, not of the web app.</param>
public sealed record DocBlock(string RelativePath, string FullPath, int Line, bool IsFragment, IReadOnlyList<string> Lines, bool IsAppHost = false)
{
    /// <summary>Gets the block's code.</summary>
    public string Code => string.Join('\n', Lines);
}

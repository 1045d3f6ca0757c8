using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore;

/// <summary>
/// The rule for where a browser may be sent back to after signing in: a path on this site, never another host. One rule
/// for the sign-in challenge this package issues and for an app's own sign-in link (<c>/account/signin?returnUrl=…</c>).
/// </summary>
/// <remarks>
/// <para>
/// ASP.NET Core's <c>IUrlHelper.IsLocalUrl</c> rule (a path that starts with one <c>/</c>, not <c>//</c> or <c>/\</c>,
/// without control characters), made stricter where browsers rewrite a URL before reading it: a browser removes tabs
/// and line breaks anywhere in a URL and reads <c>\</c> as <c>/</c>, so <c>/\t/evil.example</c> and <c>/\evil.example</c>
/// both land on <c>//evil.example</c>, another host. Therefore:
/// </para>
/// <list type="bullet">
/// <item><description>the URL starts with <c>/</c>, and its second character is not <c>/</c>;</description></item>
/// <item><description>no control character (tab, line break, any other <see cref="char.IsControl(char)"/>) and no <c>\</c> anywhere;</description></item>
/// <item><description>the same holds for its path once percent-decoded (<c>/%09/evil.example</c>, <c>/%5C/evil.example</c>,
/// <c>/%2F/evil.example</c> are refused), in case something between here and the browser decodes it;</description></item>
/// <item><description><c>~/</c> paths and absolute URLs, even to this host, are refused: a redirect does not resolve <c>~</c>, and
/// the host of a request is whatever its sender wrote.</description></item>
/// </list>
/// <para>The query and fragment may hold anything else, <c>/</c> included (<c>/search?next=//x</c> is local).</para>
/// </remarks>
public static class PitchlyReturnUrl
{
    // Decoding twice covers a value encoded once more than the browser would decode it; more rounds gain nothing.
    private const int MaxDecodingRounds = 3;

    /// <summary>Tells whether <paramref name="url"/> is a path on this site that is safe to redirect a browser to.</summary>
    /// <param name="url">The URL, as it would be written into a <c>Location</c> header.</param>
    /// <returns><see langword="true"/> for a local path as the rule above describes; otherwise <see langword="false"/>.</returns>
    public static bool IsLocal([NotNullWhen(true)] string? url)
    {
        if (!IsLocalPathText(url))
        {
            return false;
        }

        var end = url.AsSpan().IndexOfAny('?', '#');
        var path = end < 0 ? url : url[..end];
        for (var round = 0; round < MaxDecodingRounds && path.Contains('%', StringComparison.Ordinal); round++)
        {
            var decoded = Uri.UnescapeDataString(path);
            if (decoded.Length == path.Length)
            {
                // Nothing was an escape ("/100%"): nothing more to read into it.
                break;
            }

            if (!IsLocalPathText(decoded))
            {
                return false;
            }

            path = decoded;
        }

        return true;
    }

    /// <summary>Returns <paramref name="url"/> when it is local (see <see cref="IsLocal"/>); otherwise <paramref name="fallback"/>.</summary>
    /// <param name="url">The URL asked for, for example a <c>returnUrl</c> query parameter.</param>
    /// <param name="fallback">Where to go instead, for example <c>"/"</c>; used as given.</param>
    /// <returns><paramref name="url"/> or <paramref name="fallback"/>.</returns>
    public static string LocalOr(string? url, string fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        return IsLocal(url) ? url : fallback;
    }

    /// <summary>
    /// The page a request asked for (path base, path, query, as the authentication handlers build it), when it is local;
    /// otherwise the app's root. A catch-all route reached at <c>//evil.example/x</c> would otherwise send the browser to
    /// another host once signed in.
    /// </summary>
    internal static string ThisPageOrRoot(PathString pathBase, PathString path, QueryString query) =>
        LocalOr(pathBase + path + query, pathBase.HasValue ? pathBase + "/" : "/");

    private static bool IsLocalPathText([NotNullWhen(true)] string? text)
    {
        if (string.IsNullOrEmpty(text) || text[0] != '/' || (text.Length > 1 && text[1] == '/'))
        {
            return false;
        }

        foreach (var character in text)
        {
            if (character == '\\' || char.IsControl(character))
            {
                return false;
            }
        }

        return true;
    }
}

using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// Removes secrets from text Pitchly (or something in its place) wrote, before the text reaches an exception message,
/// a log or a <see cref="PitchlyGraphQLError"/>: a server that echoes the request (a GraphQL error quoting a variable,
/// a proxy page quoting a header) must not put the caller's token into them.
/// </summary>
/// <remarks>
/// In this order: the secrets the request really carried (<see cref="KnownSecrets"/>: its credential and the values
/// of its variables named like secrets), then what looks like one whatever the request was: a <c>Bearer</c> or
/// <c>Basic</c> credential, a value after a name like <c>accessToken</c>, <c>refresh_token</c>, <c>secretKey</c>,
/// <c>password</c> or <c>apiKey</c> (<c>name: value</c>, <c>name=value</c>, <c>"name":"value"</c>, GraphQL's
/// <c>Variable "$name" got invalid value "value"</c>), a Pitchly token (<c>plyu_…</c>, <c>plys_…</c>), a JWT, and a run of 32 or
/// more token characters mixing letters and digits. Each becomes <see cref="Placeholder"/>. Callers that shorten the
/// text redact first and shorten after: a secret cut in two no longer matches anything.
/// </remarks>
internal static partial class SecretRedaction
{
    public const string Placeholder = "[redacted]";

    /// <summary>Redacts a message: everything the remarks list.</summary>
    public static string Redact(string text, KnownSecrets? known = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return text;
        }

        if (known is not null)
        {
            foreach (var secret in known.Values)
            {
                text = text.Replace(secret, Placeholder, StringComparison.Ordinal);
            }
        }

        text = Credential().Replace(text, static match => match.Groups["scheme"].Value + " " + Placeholder);
        text = NamedVariable().Replace(text, static match => match.Groups["lead"].Value + match.Groups["quote"].Value + Placeholder + match.Groups["quote"].Value);
        text = NamedValue().Replace(text, static match => match.Groups["lead"].Value + match.Groups["quote"].Value + Placeholder + match.Groups["quote"].Value);
        text = PrefixedToken().Replace(text, Placeholder);
        text = Jwt().Replace(text, Placeholder);
        return LongRun().Replace(text, static match => MixesLettersAndDigits(match.ValueSpan) ? Placeholder : match.Value);
    }

    /// <summary>
    /// Redacts an excerpt of a body that is not what was expected (an HTML page, JSON of another shape): everything
    /// <see cref="Redact"/> does, and any run of 20 or more token characters, dots included, since nothing in such an
    /// excerpt needs to be read exactly.
    /// </summary>
    public static string RedactExcerpt(string text, KnownSecrets? known = null) => TokenLikeRun().Replace(Redact(text, known), Placeholder);

    /// <summary>Tells whether a variable, field or header name is one a secret goes under.</summary>
    public static bool IsSecretName(ReadOnlySpan<char> name) => SecretName().IsMatch(name);

    private static bool MixesLettersAndDigits(ReadOnlySpan<char> run) =>
        run.IndexOfAnyInRange('0', '9') >= 0 && (run.IndexOfAnyInRange('a', 'z') >= 0 || run.IndexOfAnyInRange('A', 'Z') >= 0);

    private const string SecretWord = "token|secret|passw(?:or)?d|pwd|key|credential|authorization|cookie";

    [GeneratedRegex(SecretWord, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    // Variable "$accessToken" got invalid value "…" (graphql-js); Variable '$secretKey' is invalid. Unable to convert '…' (GraphQL.NET):
    // the quoted text after a word about the value, not any quote (Variable '$accessToken' is never used in operation 'Q').
    [GeneratedRegex(
        @"(?<lead>\$\w{0,40}(?:" + SecretWord + @")\w{0,40}[""']?[^""'\r\n]{0,60}?\b(?:value|convert|coerce|parse)\w*[^""'\r\n]{0,20}?)(?<quote>[""'])(?:(?!\k<quote>)[^\r\n]){0,512}\k<quote>",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NamedVariable();

    // accessToken: "…", refresh_token=…, "secretKey":"…", password = '…' (a quoted value, or one up to a delimiter; not one
    // that starts with "[", a placeholder already, nor the scheme of a credential redacted just before). Names, gaps and values are bounded, so a long run cannot make it slow.
    [GeneratedRegex(
        @"(?<lead>(?<![\w$])\w{0,40}(?:" + SecretWord + @")\w{0,40}[""']?[ \t]{0,8}[:=][ \t]{0,8})(?:(?<quote>[""'])(?:(?!\k<quote>)[^\r\n]){0,512}\k<quote>|(?<quote>)(?!\[|(?:Bearer|Basic)\s)[^\s""',;&)}\]]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NamedValue();

    [GeneratedRegex(@"\b(?<scheme>Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Credential();

    // Pitchly's current tokens and secrets: plyu_ (user), plys_ (secret) and their kin, then URL-safe characters.
    [GeneratedRegex(@"\bply[a-z]_[A-Za-z0-9_\-]+", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixedToken();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    // Legacy tokens are 43 URL-safe characters; ids (17 or 20) and words stay readable.
    [GeneratedRegex(@"[A-Za-z0-9_\-+/=~]{32,}", RegexOptions.CultureInvariant)]
    private static partial Regex LongRun();

    [GeneratedRegex(@"[A-Za-z0-9_\-\.~+/=]{20,}", RegexOptions.CultureInvariant)]
    private static partial Regex TokenLikeRun();
}

namespace Pitchly.AspNetCore;

/// <summary>One entry of a GraphQL response's <c>errors</c>, in either of Pitchly's error styles.</summary>
public sealed class PitchlyGraphQLError
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The error's message.</param>
    /// <param name="code">The error's code, if any.</param>
    /// <param name="path">The path of the response field the error belongs to, if any.</param>
    public PitchlyGraphQLError(string message, string? code, IReadOnlyList<object>? path)
    {
        ArgumentNullException.ThrowIfNull(message);
        Message = message;
        Code = code;
        Path = path;
    }

    /// <summary>
    /// Gets the error's message as Pitchly wrote it, with secrets redacted when the package read it: the request's token
    /// and secret-named variables (<c>accessToken</c>, <c>secretKey</c>, …), values after names like <c>token</c>,
    /// <c>secret</c>, <c>password</c> or <c>key</c>, bearer credentials and token-shaped strings read
    /// <c>[redacted]</c>. The unredacted text is not kept anywhere: a server that echoes a variable must not put the token
    /// into an exception, a log or an app's error page.
    /// </summary>
    public string Message { get; }

    /// <summary>
    /// Gets the error's code: <c>extensions.code</c> on the current platform (<c>UNAUTHENTICATED</c>,
    /// <c>FORBIDDEN</c>, …), the legacy <c>data.error</c> (<c>token-invalid</c>, <c>not-authorized</c>, …) otherwise;
    /// <see langword="null"/> when the error has none.
    /// </summary>
    public string? Code { get; }

    /// <summary>Gets the path of the response field the error belongs to: field names (<see cref="string"/>) and list indices (<see cref="int"/>).</summary>
    public IReadOnlyList<object>? Path { get; }

    /// <summary>Gets whether the error says the credential lacks a permission (<c>FORBIDDEN</c> or <c>not-authorized</c>).</summary>
    public bool IsNotAuthorized => Code is "FORBIDDEN" or "not-authorized";

    /// <inheritdoc />
    public override string ToString() =>
        Path is null ? $"{Message} ({Code ?? "no code"})" : $"{Message} ({Code ?? "no code"}) at {string.Join('.', Path)}";
}

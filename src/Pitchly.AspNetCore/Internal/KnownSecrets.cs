using System.Text.Json;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The secrets one request to Pitchly really carried, for <see cref="SecretRedaction"/>: its credential (the bearer
/// token, or the access token of a subscription's <c>connection_init</c>) and every string under a member named like a
/// secret (<c>accessToken</c>, <c>secretKey</c>, <c>refreshToken</c>, <c>password</c>, …) anywhere in its JSON body,
/// variables included. Read only when an answer carries text to redact, so a successful call never pays for it.
/// </summary>
internal sealed class KnownSecrets
{
    /// <summary>Shorter values are not searched for: replacing every "id" or "1" of a message would hide it, not a secret.</summary>
    public const int MinLength = 8;

    // A body this large is not read again to look for secrets; the patterns of SecretRedaction still apply.
    private const int MaxBodyBytes = 1024 * 1024;

    private KnownSecrets(string[] values) => Values = values;

    public static KnownSecrets None { get; } = new([]);

    /// <summary>Gets the values, longest first, so that a secret containing another is replaced whole.</summary>
    public IReadOnlyList<string> Values { get; }

    /// <summary>The secrets of a request: <paramref name="credentials"/> and the secret-named strings of <paramref name="json"/>.</summary>
    public static KnownSecrets From(ReadOnlySpan<byte> json, params ReadOnlySpan<string?> credentials)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var credential in credentials)
        {
            Add(values, credential);
        }

        if (!json.IsEmpty)
        {
            try
            {
                var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
                Collect(ref reader, values);
            }
            catch (JsonException)
            {
                // Not JSON (a body the app wrote itself): the credentials and the patterns are what remains.
            }
        }

        return values.Count == 0 ? None : new([.. values.OrderByDescending(static value => value.Length)]);
    }

    /// <summary>The secrets of a request that was sent: its Authorization header's credential and its JSON body, when small enough to read.</summary>
    public static async ValueTask<KnownSecrets> FromRequestAsync(HttpRequestMessage? request, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return None;
        }

        var credential = request.Headers.Authorization?.Parameter;
        byte[] body = [];
        if (request.Content is { } content && content.Headers.ContentLength is <= MaxBodyBytes)
        {
            try
            {
                body = await content.ReadAsByteArrayAsync(cancellationToken);
            }
            catch (Exception exception) when (exception is InvalidOperationException or ObjectDisposedException or HttpRequestException or IOException)
            {
                // A body that cannot be read twice: the credential and the patterns are what remains.
            }
        }

        return From(body, credential);
    }

    private static void Collect(ref Utf8JsonReader reader, HashSet<string> values)
    {
        // The depth of the member named like a secret, while inside it: every string under it is a secret.
        var secretDepth = -1;
        var nextIsSecret = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    nextIsSecret = secretDepth < 0 && SecretRedaction.IsSecretName(reader.GetString());
                    break;
                case JsonTokenType.String:
                    if (secretDepth >= 0 || nextIsSecret)
                    {
                        Add(values, reader.GetString());
                    }

                    nextIsSecret = false;
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    if (nextIsSecret)
                    {
                        secretDepth = reader.CurrentDepth;
                    }

                    nextIsSecret = false;
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    if (reader.CurrentDepth == secretDepth)
                    {
                        secretDepth = -1;
                    }

                    break;
                default:
                    nextIsSecret = false;
                    break;
            }
        }
    }

    private static void Add(HashSet<string> values, string? value)
    {
        if (value is { Length: >= MinLength })
        {
            values.Add(value);
        }
    }
}

namespace Pitchly.AspNetCore.Redis.Tests.Telemetry;

/// <summary>
/// Learns the run's real secrets from the wire: every credential-bearing form field the app sends to Pitchly (code,
/// code verifier, refresh token, App SDK token, client secret) and every token Pitchly answers with.
/// </summary>
public sealed class SecretRecorder
{
    private static readonly string[] FormFields = ["code", "code_verifier", "refresh_token", "client_secret", "subject_token"];
    private static readonly string[] AnswerFields = ["access_token", "refresh_token"];

    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.Ordinal);

    /// <summary>Gets the secrets seen, each with its kind (for example <c>code_verifier</c>).</summary>
    public IReadOnlyDictionary<string, string> Secrets => _secrets;

    public void Add(string kind, string? value)
    {
        // Short values (empty, "x") would match anything; every real secret here is long.
        if (value is { Length: >= 16 })
        {
            _secrets.TryAdd(value, kind);
        }
    }

    public DelegatingHandler CreateHandler(HttpMessageHandler? inner = null) => inner is null ? new Handler(this) : new Handler(this) { InnerHandler = inner };

    private sealed class Handler(SecretRecorder recorder) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is FormUrlEncodedContent form)
            {
                foreach (var pair in (await form.ReadAsStringAsync(cancellationToken)).Split('&'))
                {
                    var parts = pair.Split('=', 2);
                    var name = WebUtility.UrlDecode(parts[0]);
                    if (parts.Length == 2 && FormFields.Contains(name))
                    {
                        recorder.Add(name, WebUtility.UrlDecode(parts[1]));
                    }
                }
            }

            if (request.Headers.Authorization is { Parameter: { } credential })
            {
                recorder.Add("authorization header", credential);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentType?.MediaType == "application/json")
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                try
                {
                    using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                    if (answer.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var field in AnswerFields)
                        {
                            if (answer.RootElement.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
                            {
                                recorder.Add(field, value.GetString());
                            }
                        }
                    }
                }
                catch (JsonException)
                {
                    // Not a token answer.
                }
            }

            return response;
        }
    }
}

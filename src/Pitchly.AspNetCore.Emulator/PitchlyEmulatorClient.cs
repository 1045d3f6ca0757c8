namespace Pitchly.AspNetCore.Emulator;

/// <summary>An app (OAuth client) registered with the emulator.</summary>
public sealed class PitchlyEmulatorClient
{
    /// <summary>Gets or sets the App ID (<c>client_id</c>).</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>Gets or sets the App Secret (<c>client_secret</c>); it also signs self-signed JWTs and serves as legacy <c>secretKey</c>.</summary>
    public string ClientSecret { get; set; } = string.Empty;

    /// <summary>
    /// Gets the registered redirect URIs. An authorization request's <c>redirect_uri</c> must match one exactly;
    /// when it omits one, the first is used.
    /// </summary>
    public IList<string> RedirectUris { get; } = new List<string>();

    /// <summary>
    /// Gets or sets whether any <c>http</c> loopback redirect URI (<c>http://127.0.0.1:{any port}/…</c>,
    /// <c>http://localhost:{any port}/…</c>, <c>http://[::1]:{any port}/…</c>) is accepted as well, as RFC 8252
    /// allows for native apps: tests and samples bind ephemeral ports.
    /// </summary>
    public bool AllowAnyLoopbackRedirectUri { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"PitchlyEmulatorClient {{ ClientId = {ClientId} }}";

    internal PitchlyEmulatorClient Clone()
    {
        var clone = new PitchlyEmulatorClient
        {
            ClientId = ClientId,
            ClientSecret = ClientSecret,
            AllowAnyLoopbackRedirectUri = AllowAnyLoopbackRedirectUri,
        };
        foreach (var uri in RedirectUris)
        {
            clone.RedirectUris.Add(uri);
        }

        return clone;
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Where one client's credential handler may send its credential (an access token, the App Secret as API key, a
/// self-signed token): the origins of <see cref="PitchlyAccessTokenHandlerOptions.AllowedOrigins"/> (Pitchly's configured
/// endpoints and the app's additions), and never plain http to a host that is not loopback outside Development (the
/// rule of <see cref="PitchlyEndpointRule"/>). Checked before the handler reads or attaches anything, so a request
/// built with another host, a typo'd scheme or an absolute URI from user input never carries a credential.
/// </summary>
/// <remarks>
/// Made once per handler; the check compares scheme, host and port against a few entries, without allocating. The last
/// URI instance found allowed is kept: a <see cref="Uri"/> cannot change, nor can the allowed list, so the same instance
/// again (a client sending to one endpoint <see cref="Uri"/>) skips the comparison; any other instance is compared in full.
/// </remarks>
internal sealed partial class CredentialOrigins
{
    private readonly Origin[] _allowed;

    // The last URI instance found allowed (one reference, so a racing write only costs a comparison).
    private Uri? _lastAllowed;
    private readonly IHostEnvironment? _environment;
    private readonly string _clientName;
    private readonly ILogger _logger;

    public CredentialOrigins(string clientName, PitchlyAccessTokenHandlerOptions options, IHostEnvironment? environment, ILogger logger)
    {
        _clientName = clientName;
        _environment = environment;
        _logger = logger;
        var allowed = new List<Origin>(options.AllowedOrigins.Count);
        foreach (var text in options.AllowedOrigins)
        {
            // Validation at start-up refuses what does not parse; an entry changed since is ignored, never trusted.
            if (TryParse(text, out var origin) && !allowed.Contains(origin))
            {
                allowed.Add(origin);
            }
        }

        _allowed = [.. allowed];
    }

    /// <summary>
    /// Reads an origin: an absolute http(s) URI with nothing but scheme, host and (optionally) port, such as
    /// <c>https://api.pitchly.com</c> or <c>http://127.0.0.1:5080</c>; a single trailing slash is accepted.
    /// </summary>
    public static bool TryParse(string? text, out Origin origin)
    {
        origin = default;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0
            || uri.AbsolutePath != "/"
            || uri.Query.Length > 0
            || uri.Fragment.Length > 0)
        {
            return false;
        }

        origin = Origin.Of(uri);
        return true;
    }

    /// <summary>The origin of an endpoint's absolute URI: what a configured endpoint contributes to the allowed list.</summary>
    public static string OriginOf(Uri endpoint) => endpoint.GetLeftPart(UriPartial.Authority);

    /// <summary>Throws <see cref="PitchlyOriginNotAllowedException"/> unless <paramref name="request"/> may carry the credential.</summary>
    public void ThrowIfNotAllowed(HttpRequestMessage request)
    {
        var uri = request.RequestUri;
        if (uri is not { IsAbsoluteUri: true })
        {
            throw Refused(uri, "The request has no absolute URI; give the HttpClient a BaseAddress or the request an absolute URI of a Pitchly endpoint.");
        }

        // Asked on every call, cached or not: it depends on the environment, not only on the URI.
        if (PitchlyEndpointRule.IsRefusedHttp(uri, _environment))
        {
            throw Refused(uri, $"It uses plain http to {uri.Host}, which is not a loopback host; outside the Development environment a Pitchly credential travels only over https (or http to 127.0.0.1, localhost and [::1]).");
        }

        if (ReferenceEquals(uri, Volatile.Read(ref _lastAllowed)))
        {
            return;
        }

        foreach (var origin in _allowed)
        {
            if (origin.Matches(uri))
            {
                Volatile.Write(ref _lastAllowed, uri);
                return;
            }
        }

        throw Refused(uri, $"Its origin is not one of Pitchly's configured endpoints (Pitchly:GraphQLEndpoint, Pitchly:TokenEndpoint, Pitchly:Subscriptions:Endpoint) nor in {ConfigurePitchlyAccessTokenHandlerOptions.SectionName}:AllowedOrigins. If it really is Pitchly, or a gateway in front of it, add the origin there or to PitchlyAccessTokenHandlerOptions.AllowedOrigins of this client.");
    }

    private PitchlyOriginNotAllowedException Refused(Uri? uri, string why)
    {
        var exception = new PitchlyOriginNotAllowedException(uri, $"The request of HttpClient '{_clientName}' to {Describe(uri)} was not sent, and no Pitchly credential was attached. {why}");
        LogRefused(_logger, _clientName, exception.Origin ?? "(no absolute URI)");
        return exception;
    }

    // The origin only: a path or query may carry data the caller would not want in an exception message or a log.
    private static string Describe(Uri? uri) => uri is { IsAbsoluteUri: true } ? uri.GetLeftPart(UriPartial.Authority) : "a relative URI";

    [LoggerMessage(EventId = 2220, Level = LogLevel.Warning, Message = "A request of HttpClient '{ClientName}' to {Origin} was refused before any Pitchly credential was attached: the origin may not receive one.")]
    private static partial void LogRefused(ILogger logger, string clientName, string origin);

    /// <summary>Scheme, host and port, compared as URIs compare them (scheme and host ignoring case).</summary>
    internal readonly record struct Origin(string Scheme, string Host, int Port)
    {
        public static Origin Of(Uri uri) => new(uri.Scheme, uri.IdnHost, uri.Port);

        // Uri lowers an http(s) host's case, so an exact comparison nearly always decides; ignoring case only
        // when it fails keeps the rule as it was at the cost of the common case's vector compare.
        public bool Matches(Uri uri) =>
            uri.Port == Port
            && string.Equals(uri.Scheme, Scheme, StringComparison.OrdinalIgnoreCase)
            && uri.IdnHost is var host
            && (string.Equals(host, Host, StringComparison.Ordinal) || string.Equals(host, Host, StringComparison.OrdinalIgnoreCase));

        public bool Equals(Origin other) =>
            Port == other.Port
            && string.Equals(Scheme, other.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);

        public override int GetHashCode() => HashCode.Combine(Port, StringComparer.OrdinalIgnoreCase.GetHashCode(Scheme), StringComparer.OrdinalIgnoreCase.GetHashCode(Host));
    }
}

using System.Net;
using Microsoft.AspNetCore.Http;

namespace Pitchly.AspNetCore.Emulator.Internal;

/// <summary>Tells loopback callers, hosts, origins and listen addresses from the ones other machines can use.</summary>
internal static class Loopback
{
    /// <summary>
    /// Whether the caller is on this machine. No remote address means an in-process transport (TestServer) or a Unix
    /// socket: local by construction.
    /// </summary>
    public static bool IsCaller(ConnectionInfo connection) =>
        connection.RemoteIpAddress is not { } remote || IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);

    /// <summary>Whether a host name (no port; an IPv6 address with or without brackets) names this machine's loopback.</summary>
    public static bool IsHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var address = host.Length > 1 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        return IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>Whether an <c>Origin</c> header value is a page served from this machine's loopback.</summary>
    public static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && IsHost(uri.Host);

    /// <summary>
    /// Whether a server address (as <c>IServerAddressesFeature</c> or <c>--urls</c> spell it) listens on loopback only:
    /// <c>localhost</c>, <c>127.0.0.0/8</c>, <c>[::1]</c>, or no network at all (<c>unix:</c>, <c>pipe:</c>). The wildcards
    /// <c>0.0.0.0</c>, <c>[::]</c>, <c>*</c> and <c>+</c>, a host name (which Kestrel binds on every interface) and any
    /// other address are not.
    /// </summary>
    public static bool IsListenAddress(string address)
    {
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd < 0 ? address : address[(schemeEnd + 3)..];
        if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var pathStart = rest.IndexOf('/', StringComparison.Ordinal);
        if (pathStart >= 0)
        {
            rest = rest[..pathStart];
        }

        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            host = close < 0 ? rest : rest[..(close + 1)];
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon < 0 ? rest : rest[..colon];
        }

        return host.Length > 0 && IsHost(host);
    }
}

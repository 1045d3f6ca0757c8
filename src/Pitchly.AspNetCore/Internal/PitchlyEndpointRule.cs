using System.Net;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.Internal;

/// <summary>
/// The one rule for every Pitchly endpoint the package sends credentials to (sign-in, token management, GraphQL):
/// https, except plain http on a loopback host (where the emulator runs) in every environment, and any http in
/// Development.
/// </summary>
internal static class PitchlyEndpointRule
{
    /// <summary>Tells whether <paramref name="uri"/> is plain http that the rule refuses in <paramref name="environment"/>.</summary>
    public static bool IsRefusedHttp(Uri uri, IHostEnvironment? environment) =>
        uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri) && environment?.IsDevelopment() != true;

    /// <summary>Says why a refused endpoint is refused and which setting to fix.</summary>
    public static string RefusedHttpMessage(string setting, string value, string key) =>
        $"{setting} '{value}' uses http. Outside the Development environment Pitchly endpoints must use https (http is allowed for 127.0.0.1, localhost and [::1]). Fix {key}.";

    internal static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// IHttpClientFactory logs request and response headers at Trace, values included unless told otherwise: every client
/// that carries a Pitchly credential in a header redacts it, on top of whatever the app already redacts.
/// </summary>
internal static class CredentialHeaderRedaction
{
    public static IHttpClientBuilder RedactCredentialHeaders(this IHttpClientBuilder builder)
    {
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, options =>
        {
            var previous = options.ShouldRedactHeaderValue;
            options.ShouldRedactHeaderValue = header => IsCredential(header) || previous(header);
        });
        return builder;
    }

    private static bool IsCredential(string header) =>
        header.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase);
}

using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.TokenExchange;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the endpoint that turns an App SDK token into an install's long-lived tokens.</summary>
public static class PitchlyTokenExchangeEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c>: the app's page posts the App SDK's <c>onConnect</c> answer
    /// (<c>{"accessToken": "…", "organizationId": "…", "databaseId": "…"}</c>, <c>databaseId</c> optional) as
    /// <c>application/json</c>; the server exchanges the short-lived token with the app's client credentials for an access
    /// and refresh token, checks they belong to that organization, stores them under
    /// <see cref="PitchlyTokenKey.ForInstall(string, string?)"/> and answers 204. No token is ever returned to the browser.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route (default <c>/pitchly/token-exchange</c>).</param>
    /// <returns>The endpoint's convention builder, for example to add <c>RequireRateLimiting</c>.</returns>
    /// <remarks>
    /// Cross-site requests are refused: the body must be <c>application/json</c> (415 otherwise), which a page on another
    /// site cannot send without a CORS preflight, and a browser's <c>Origin</c> must be the app's own or one of
    /// <see cref="PitchlyTokenExchangeOptions.AllowedOrigins"/> (403 otherwise). Errors are RFC 9457 problem details
    /// without secrets: 400 for a malformed body, 401 when Pitchly refuses the App SDK token, 403 when the tokens belong
    /// to another organization, 502 when the token endpoint fails.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Token management was not added (<c>services.AddPitchlyTokenManagement()</c>).</exception>
    public static IEndpointConventionBuilder MapPitchlyTokenExchange(this IEndpointRouteBuilder endpoints, string pattern = "/pitchly/token-exchange")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var handler = endpoints.ServiceProvider.GetService<PitchlyTokenExchangeHandler>()
            ?? throw new InvalidOperationException(
                "MapPitchlyTokenExchange needs Pitchly token management: call builder.Services.AddPitchlyTokenManagement() before building the app.");
        return endpoints.MapPost(pattern, handler.HandleAsync).WithDisplayName("Pitchly App SDK token exchange");
    }
}

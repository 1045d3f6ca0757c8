using Microsoft.AspNetCore.Http;
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
    /// <returns>
    /// The endpoint's convention builder, for example to add <c>.RequireAuthorization()</c> (the page's user must be signed
    /// in to the app) or the app's own rate limiting policy with <c>.RequireRateLimiting("policy")</c> (with
    /// <c>app.UseRateLimiter()</c>).
    /// </returns>
    /// <remarks>
    /// The organization comes from Pitchly: from the token endpoint's answer when it names one, otherwise from Pitchly's
    /// GraphQL API asked with the new token (<see cref="PitchlyTokenExchangeOptions.VerifyOrganization"/>); the body's
    /// <c>organizationId</c> must match it. A <c>database_id</c> in the answer binds the install's database the same way;
    /// a body's <c>databaseId</c> that the answer does not confirm is refused (403 <c>database-unconfirmed</c>).
    /// A record already stored for the install is replaced only by tokens verified to be of the same organization.
    /// Requests are rate limited per client address (IPv6 per /64) and per organization
    /// (<see cref="PitchlyTokenExchangeOptions.PermitsPerClientAddress"/>,
    /// <see cref="PitchlyTokenExchangeOptions.PermitsPerOrganization"/>; 429 with <c>Retry-After</c> over the limit); an
    /// organization is charged only for exchanges whose tokens Pitchly confirmed to be its own. At most
    /// <see cref="PitchlyTokenExchangeOptions.MaxConcurrentExchanges"/> exchanges run at once (503 with <c>Retry-After</c>
    /// beyond).
    /// <para>
    /// Cross-site requests are refused: the body must be <c>application/json</c> (415 otherwise), which a page on another
    /// site cannot send without a CORS preflight, and a browser's <c>Origin</c> must be the app's own or one of
    /// <see cref="PitchlyTokenExchangeOptions.AllowedOrigins"/> (403 otherwise). Errors are RFC 9457 problem details
    /// without secrets: 400 for a malformed body, 401 when Pitchly refuses the App SDK token, 403 when the tokens belong
    /// to another organization or name a database Pitchly did not confirm, 429 over a rate limit, 502 when the token
    /// endpoint fails, 503 when too many exchanges are in flight.
    /// </para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">Token management was not added (<c>services.AddPitchlyTokenManagement()</c>).</exception>
    public static RouteHandlerBuilder MapPitchlyTokenExchange(this IEndpointRouteBuilder endpoints, string pattern = "/pitchly/token-exchange")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var handler = endpoints.ServiceProvider.GetService<PitchlyTokenExchangeHandler>()
            ?? throw new InvalidOperationException(
                "MapPitchlyTokenExchange needs Pitchly token management: call builder.Services.AddPitchlyTokenManagement() before building the app.");
        // Mapped as a Delegate (not a RequestDelegate) so the app gets a RouteHandlerBuilder: endpoint filters, OpenAPI.
        return endpoints.MapPost(pattern, (Func<HttpContext, Task>)handler.HandleAsync).WithDisplayName("Pitchly App SDK token exchange");
    }
}

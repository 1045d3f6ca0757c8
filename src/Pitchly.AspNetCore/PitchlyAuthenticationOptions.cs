using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore.Internal.Authentication;

namespace Pitchly.AspNetCore;

/// <summary>
/// Options of "Sign in with Pitchly" (OAuth 2.0 authorization code flow with PKCE). Bound from the <c>Pitchly</c>
/// configuration section (<c>Pitchly:ClientId</c>, <c>Pitchly:ClientSecret</c>, <c>Pitchly:AuthorizationEndpoint</c>,
/// <c>Pitchly:TokenEndpoint</c>, <c>Pitchly:GraphQLEndpoint</c>, ...); code configuration runs after binding.
/// </summary>
/// <remarks>
/// The tokens Pitchly issues at sign-in go to <see cref="IPitchlyTokenStore"/>, keyed by the signed-in person, and
/// never into the authentication cookie: Pitchly's refresh tokens are single-use and rotate, so a cookie copy would
/// go stale after the first refresh (and the refresh token must never reach the browser). For that reason
/// <see cref="Microsoft.AspNetCore.Authentication.RemoteAuthenticationOptions.SaveTokens"/> must stay
/// <see langword="false"/>: start-up validation refuses <see langword="true"/>.
/// </remarks>
public class PitchlyAuthenticationOptions : OAuthOptions
{
    /// <summary>Initializes a new instance with Pitchly's endpoints, PKCE and the identity claim mappings.</summary>
    public PitchlyAuthenticationOptions()
    {
        ClaimsIssuer = PitchlyAuthenticationDefaults.Issuer;
        CallbackPath = new PathString(PitchlyAuthenticationDefaults.CallbackPath);
        AuthorizationEndpoint = PitchlyAuthenticationDefaults.AuthorizationEndpoint;
        TokenEndpoint = PitchlyAuthenticationDefaults.TokenEndpoint;
        UsePkce = true;
        SaveTokens = false;

        // The claim actions run on the "data" object of the identity query's answer.
        ClaimActions.MapCustomJson(ClaimTypes.NameIdentifier, data => PitchlyIdentityJson.GetString(data, "viewer", "person", "id"));
        ClaimActions.MapCustomJson(PitchlyClaimTypes.PersonId, data => PitchlyIdentityJson.GetString(data, "viewer", "person", "id"));
        ClaimActions.MapCustomJson(ClaimTypes.Name, data => PitchlyIdentityJson.GetString(data, "viewer", "person", "name"));
        ClaimActions.MapCustomJson(ClaimTypes.Email, data => PitchlyIdentityJson.GetString(data, "viewer", "person", "email"));
        ClaimActions.MapCustomJson(PitchlyClaimTypes.Picture, data => PitchlyIdentityJson.GetString(data, "viewer", "person", "image"));
        ClaimActions.MapCustomJson(PitchlyClaimTypes.OrganizationId, data => PitchlyIdentityJson.GetString(data, "organization", "id"));
    }

    /// <summary>
    /// Gets or sets Pitchly's GraphQL endpoint, which answers the identity query
    /// <c>{ organization { id } viewer { person { id name email image } } }</c> after the code exchange.
    /// </summary>
    public string GraphQLEndpoint { get; set; } = PitchlyAuthenticationDefaults.GraphQLEndpoint;

    /// <summary>
    /// Gets or sets the access token lifetime assumed when Pitchly's token response carries no <c>expires_in</c>
    /// (Pitchly documents that it always does). Default: one hour, the current platform's usual lifetime. A token that
    /// dies sooner is refreshed when Pitchly reports it invalid.
    /// </summary>
    public TimeSpan DefaultAccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <inheritdoc />
    /// <remarks>
    /// The values this package's start-up validation checks (client credentials and endpoints) are left to it, so a
    /// misconfigured app sees every Pitchly-specific problem at once, each with what to fix, instead of the first
    /// generic one.
    /// </remarks>
    public override void Validate()
    {
        if (string.IsNullOrEmpty(ClientId) || string.IsNullOrEmpty(ClientSecret)
            || string.IsNullOrEmpty(AuthorizationEndpoint) || string.IsNullOrEmpty(TokenEndpoint))
        {
            return;
        }

        base.Validate();
    }
}
